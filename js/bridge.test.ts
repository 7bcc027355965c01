import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventBatcher, requestAnswer } from "./bridge";
import { FakeChannel } from "./testing";
import type { WireEvent } from "./types";

function sentEvents(channel: FakeChannel): WireEvent[] {
	return channel.sent.flatMap((m) => (m.kind === "events" ? m.events : []));
}

describe("EventBatcher", () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it("sends the first event at once and the ones close behind it together, numbered in order", () => {
		const channel = new FakeChannel();
		const batcher = new EventBatcher(channel, 15, 100, () => 1000);
		batcher.push("server", { type: "session.created" }, 1, "rtc_1");
		expect(channel.sent).toHaveLength(1); // no timer: a frame's rendering cannot go first
		batcher.push("client", { type: "response.create" }, 2, "rtc_1");
		batcher.push("server", { type: "response.created" }, 3, "rtc_1");
		expect(channel.sent).toHaveLength(1);

		vi.advanceTimersByTime(15);

		expect(channel.sent).toHaveLength(2);
		expect(sentEvents(channel)).toEqual([
			{ seq: 0, direction: "server", t: 1, call_id: "rtc_1", event: { type: "session.created" } },
			{ seq: 1, direction: "client", t: 2, call_id: "rtc_1", event: { type: "response.create" } },
			{ seq: 2, direction: "server", t: 3, call_id: "rtc_1", event: { type: "response.created" } },
		]);
	});

	it("flushes at once when a batch is full, and never loses or reorders a burst", () => {
		const channel = new FakeChannel();
		const batcher = new EventBatcher(channel, 15, 100, () => 1000);
		for (let i = 0; i < 1050; i++) batcher.push("server", { type: "x", i }, i, null);
		expect(channel.sent).toHaveLength(11); // the first alone, then ten full batches
		batcher.flush();
		const seqs = sentEvents(channel).map((e) => e.seq);
		expect(seqs).toEqual(Array.from({ length: 1050 }, (_, i) => i));
		expect(channel.sent.length).toBe(12);
	});

	it("sends at once when idle, then at most one message per interval under load", () => {
		const channel = new FakeChannel();
		let clock = 1000;
		const batcher = new EventBatcher(channel, 8, 500, () => clock);
		batcher.push("server", { type: "a" }, 1, null);
		vi.advanceTimersByTime(0);
		expect(channel.sent).toHaveLength(1); // idle: no waiting

		clock += 2;
		batcher.push("server", { type: "b" }, 2, null);
		clock += 2;
		batcher.push("server", { type: "c" }, 3, null);
		vi.advanceTimersByTime(5);
		expect(channel.sent).toHaveLength(1); // within the interval: held back
		vi.advanceTimersByTime(1);
		expect(channel.sent).toHaveLength(2); // one message for both
		expect(sentEvents(channel).map((e) => e.event.type)).toEqual(["a", "b", "c"]);
	});

	it("sends what it holds at once when an event the kernel acts on arrives", () => {
		const channel = new FakeChannel();
		const batcher = new EventBatcher(channel, 8, 500, () => 1000);
		batcher.push("server", { type: "response.output_item.added" }, 1, null);
		vi.advanceTimersByTime(0);
		batcher.push("server", { type: "response.function_call_arguments.delta" }, 2, null);
		expect(channel.sent).toHaveLength(1); // held back, within the interval
		batcher.push("server", { type: "response.function_call_arguments.done" }, 3, null);
		expect(channel.sent).toHaveLength(2); // no waiting: the kernel runs a tool on it
		expect(sentEvents(channel).map((e) => e.seq)).toEqual([0, 1, 2]);
	});

	it("on the loopback link sends every event at once, numbered in the page's own stream", () => {
		const channel = new FakeChannel();
		channel.direct = true;
		const batcher = new EventBatcher(channel, 8, 500, () => 1000);
		for (let i = 0; i < 3; i++) batcher.push("server", { type: "x" }, i, null);
		expect(channel.sent).toHaveLength(3); // no timer to wait for: a busy frame cannot delay them
		const streams = new Set(channel.sent.map((m) => (m.kind === "events" ? m.stream : "")));
		expect(streams.size).toBe(1);
		expect(new EventBatcher(channel).stream).not.toBe([...streams][0]); // another page, another stream
	});

	it("flush with nothing pending sends nothing", () => {
		const channel = new FakeChannel();
		new EventBatcher(channel).flush();
		expect(channel.sent).toEqual([]);
	});
});

describe("requestAnswer", () => {
	it("resolves with the kernel's answer for its own request id", async () => {
		const channel = new FakeChannel();
		const pending = requestAnswer(channel, "v=0 offer");
		const offer = channel.sent[0];
		if (offer?.kind !== "offer") throw new Error("no offer sent");
		expect(offer.sdp).toBe("v=0 offer");

		channel.emit({ kind: "answer", id: "someone-else", sdp: "wrong" });
		channel.emit({ kind: "answer", id: offer.id, sdp: "v=0 answer", call_id: "rtc_9" });

		await expect(pending).resolves.toEqual({ sdp: "v=0 answer", callId: "rtc_9" });
		expect(channel.listenerCount).toBe(0);
	});

	it("rejects with the kernel's error message", async () => {
		const channel = new FakeChannel();
		const pending = requestAnswer(channel, "v=0");
		const offer = channel.sent[0];
		if (offer?.kind !== "offer") throw new Error("no offer sent");
		channel.emit({ kind: "answer", id: offer.id, error: "HTTP 401: check the API key." });
		await expect(pending).rejects.toThrow("HTTP 401: check the API key.");
	});

	it("rejects with advice when the kernel never answers", async () => {
		vi.useFakeTimers();
		const channel = new FakeChannel();
		const pending = requestAnswer(channel, "v=0", 1000);
		vi.advanceTimersByTime(1000);
		await expect(pending).rejects.toThrow(/did not answer within 1 s.*busy running a cell/);
		expect(channel.listenerCount).toBe(0);
		vi.useRealTimers();
	});
});
