import { describe, expect, it } from "vitest";
import { ReceivedTimeline } from "./received-audio";

const RATE = 1000; // a sample a millisecond keeps the arithmetic readable

const piece = (t: number, values: number[]) => ({ t, pcm: Int16Array.from(values) });

describe("ReceivedTimeline", () => {
	it("places a piece at the samples of its arrival time", () => {
		const timeline = new ReceivedTimeline(RATE);
		timeline.add(piece(1003, [1, 2, 3]));
		expect(Array.from(timeline.take(0, 1000, 8))).toEqual([0, 0, 0, 1, 2, 3, 0, 0]);
	});

	it("carries a piece across chunks and drops what is placed", () => {
		const timeline = new ReceivedTimeline(RATE);
		timeline.add(piece(1006, [1, 2, 3, 4]));
		expect(Array.from(timeline.take(0, 1000, 8))).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
		expect(Array.from(timeline.take(8, 1008, 8))).toEqual([3, 4, 0, 0, 0, 0, 0, 0]);
		expect(Array.from(timeline.take(16, 1016, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
	});

	it("keeps one sample clock while the chunks' times wobble a little", () => {
		const timeline = new ReceivedTimeline(RATE);
		timeline.take(0, 1000, 8);
		timeline.add(piece(1010, [7]));
		// This chunk says 1013 for sample 8 (5 ms off): the piece still lands at sample 10.
		expect(Array.from(timeline.take(8, 1013, 4))).toEqual([0, 0, 7, 0]);
	});

	it("sets the clock again when the chunks' times move away for good", () => {
		const timeline = new ReceivedTimeline(RATE);
		timeline.take(0, 1000, 8);
		timeline.add(piece(1132, [7]));
		// The first chunk's clock puts sample 100 at 1100; this chunk says 1130 (the audio
		// clock drifted past the slack), so the piece at 1132 is sample 102.
		expect(Array.from(timeline.take(100, 1130, 4))).toEqual([0, 0, 7, 0]);
	});

	it("forgets pieces before the chunk it fills", () => {
		const timeline = new ReceivedTimeline(RATE);
		timeline.add(piece(900, [5, 5]));
		expect(Array.from(timeline.take(0, 1000, 2))).toEqual([0, 0]);
	});
});
