import { describe, expect, it } from "vitest";
import { PushToTalk } from "./push-to-talk";
import type { RealtimeEvent } from "./types";

function rig() {
	const sent: string[] = [];
	const mic: boolean[] = [];
	const ptt = new PushToTalk((e: RealtimeEvent) => sent.push(e.type), { setMuted: (m) => mic.push(m) });
	return { ptt, sent, mic };
}

describe("PushToTalk", () => {
	it("with turn detection off, clears on press and commits and asks for a reply on release", () => {
		const { ptt, sent, mic } = rig();
		expect(ptt.press(false)).toBe(true);
		expect(sent).toEqual(["input_audio_buffer.clear"]);
		expect(mic).toEqual([false]);
		expect(ptt.release(false, true)).toBe(true);
		expect(sent).toEqual(["input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"]);
		expect(mic).toEqual([false, true]); // back to muted, as it was
	});

	it("with turn detection on, only opens the microphone while held", () => {
		const { ptt, sent, mic } = rig();
		ptt.press(true);
		ptt.release(true, false);
		expect(sent).toEqual([]);
		expect(mic).toEqual([false, false]);
	});

	it("ignores key repeats and a release without a press", () => {
		const { ptt, sent } = rig();
		expect(ptt.release(false, false)).toBe(false);
		ptt.press(false);
		expect(ptt.press(false)).toBe(false);
		ptt.release(false, false);
		expect(ptt.release(false, false)).toBe(false);
		expect(sent).toEqual(["input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"]);
	});
});
