// When the microphone's audio was captured, by its RTP time. The service counts the
// milliseconds of its input buffer (`audio_start_ms`, `audio_end_ms`) from the first frame the
// call sent; each sent frame's capture time puts that count on the events' clock, with none of
// the capture, encoding and network delay a receiver sees. The encoded frames are read in a
// worker (RTCRtpScriptTransform) on their way to the network and passed on untouched.
// No DOM.

import { FrameWorker } from "./frame-worker";

/** `ms` of the call's sent audio, counted from its first frame, were captured at `t` (epoch ms). */
export interface SentAnchor {
	ms: number;
	t: number;
}

/** Whether this browser lets a page read its sender's frames. */
export function canClockSentAudio(): boolean {
	return typeof RTCRtpScriptTransform === "function";
}

// One anchor a second (Opus frames are 20 ms): the sound card's clock drifts from the wall
// clock by parts per million, so over an hour a single anchor would be tens of ms out.
const ANCHOR_EVERY_FRAMES = 50;

// The frame worker's part (./frame-worker.ts): one frame in ANCHOR_EVERY_FRAMES gives an anchor.
const workerSource = `
const TICKS_PER_MS = 48; // Opus's RTP clock
let first = null;
let count = 0;
function take(frame) { return count++ % ${ANCHOR_EVERY_FRAMES} === 0 ? frame.getMetadata() : null; }
function use(meta) {
	if (typeof meta.captureTime !== "number") throw new Error("this browser gives sent frames no captureTime");
	first ??= meta.rtpTimestamp;
	const ms = ((meta.rtpTimestamp - first) >>> 0) / TICKS_PER_MS;
	self.postMessage({ ms, t: performance.timeOrigin + meta.captureTime });
}
`;

/** The clock of the audio `sender` sends, reported as anchors until stopped. */
export class SentClock {
	readonly #worker: FrameWorker<SentAnchor>;

	constructor(sender: RTCRtpSender, onAnchor: (anchor: SentAnchor) => void, onError: (message: string) => void) {
		this.#worker = new FrameWorker(workerSource, sender, onAnchor, onError);
	}

	/** Stop reporting. The worker goes on passing the sender's frames until the call ends, then closes. */
	stop(): void {
		this.#worker.stop();
	}
}
