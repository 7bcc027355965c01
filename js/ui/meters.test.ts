// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { Session } from "../session";
import { type MeterEnvironment, renderMeters } from "./meters";

class FakeNode {
	connected = true;
	connect() {}
	disconnect() {
		this.connected = false;
	}
}

class FakeAnalyser extends FakeNode {
	fftSize = 512;
	getFloatTimeDomainData(out: Float32Array) {
		out.fill(0.1);
	}
}

function rig() {
	const nodes: FakeNode[] = [];
	const context = {
		closed: false,
		createMediaStreamSource: () => nodes[nodes.push(new FakeNode()) - 1],
		createAnalyser: () => nodes[nodes.push(new FakeAnalyser()) - 1],
		close: async () => {
			context.closed = true;
		},
	};
	const frames = new Map<number, () => void>();
	let next = 1;
	const env: MeterEnvironment = {
		createContext: () => context as unknown as AudioContext,
		requestFrame: (callback) => {
			frames.set(next, callback);
			return next++;
		},
		cancelFrame: (handle) => frames.delete(handle),
	};
	const stream = { getAudioTracks: () => [{}] } as unknown as MediaStream;
	const listeners = new Set<() => void>();
	const session = {
		microphone: stream,
		voice: null,
		subscribe: (fn: () => void) => {
			listeners.add(fn);
			return () => listeners.delete(fn);
		},
	} as unknown as Session;
	return { env, context, nodes, frames, session, listeners };
}

describe("renderMeters", () => {
	it("shows the level and tears everything down on cleanup", () => {
		const { env, context, nodes, frames, session, listeners } = rig();
		const root = document.createElement("div");
		const cleanup = renderMeters(root, session, env);
		expect(frames.size).toBe(1);
		for (const [id, draw] of [...frames]) {
			frames.delete(id);
			draw();
		}
		const mic = root.querySelector(".rt-meter-mic");
		expect(mic?.getAttribute("aria-valuenow")).toBe("40"); // RMS 0.1, scaled by 4
		expect(frames.size).toBe(1); // keeps animating while there is a stream

		cleanup();
		expect(frames.size).toBe(0);
		expect(nodes.every((n) => !n.connected)).toBe(true);
		expect(context.closed).toBe(true);
		expect(listeners.size).toBe(0);
		expect(root.querySelector(".rt-meters")).toBeNull();
	});
});
