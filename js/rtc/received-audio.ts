// The model's voice as received: the encoded frames the call's audio receiver gets, copied in a
// worker (RTCRtpScriptTransform) on their way to the jitter buffer, decoded with WebCodecs and
// placed by when they arrived. The voice as played comes out of the jitter buffer 0.1 s or more
// later, by a delay that changes with the network; the frames' arrival times are exact.
// No DOM.

import { FrameWorker } from "./frame-worker";

/** Decoded voice: `pcm` at the recording's rate, its first sample received at `t` (epoch ms). */
export interface ReceivedPiece {
	t: number;
	pcm: Int16Array;
}

/** Whether this browser can copy a receiver's frames (else a recording takes the voice as played). */
export function canRecordReceivedAudio(): boolean {
	return typeof RTCRtpScriptTransform === "function" && typeof AudioDecoder === "function";
}

// A frame is placed RTP-timestamp after the earliest-arriving frame of its stream (jitter only
// ever delays a frame), unless it comes this much later than that places it: the sender paused
// or its clock drifted, so the stream is placed again from this frame.
const RESYNC_MS = 100;
// A chunk's own time may stray this far from the sample clock before the clock is set again.
const CLOCK_SLACK_MS = 20;
// Decoded voice waiting for its chunk is dropped past this many pieces (a minute of 20 ms frames).
const MAX_PIECES = 3000;

// The frame worker's part (./frame-worker.ts): each frame is copied on its way to the jitter
// buffer, then decoded and placed.
const workerSource = (rate: number): string => `
const RATE = ${rate};
const TICKS_PER_MS = 48; // Opus's RTP clock
let decoder = null;
let anchor = null;
const places = [];
function take(frame) { return { meta: frame.getMetadata(), data: frame.data.slice(0) }; }
function use({ meta, data }) {
	if (typeof meta.receiveTime !== "number") throw new Error("this browser gives frames no receiveTime");
	decoder ??= opened();
	places.push(place(meta));
	decoder.decode(new EncodedAudioChunk({ type: "key", timestamp: (meta.rtpTimestamp * 1000) / TICKS_PER_MS, data }));
}
function opened() {
	const it = new AudioDecoder({ output: emit, error: fail });
	it.configure({ codec: "opus", sampleRate: 48000, numberOfChannels: 1 });
	return it;
}
function emit(audio) {
	const t = places.shift();
	const step = audio.sampleRate / RATE;
	const all = new Float32Array(audio.numberOfFrames);
	audio.copyTo(all, { planeIndex: 0, format: "f32-planar" });
	audio.close();
	if (t === undefined || !taking) return;
	const pcm = new Int16Array(Math.floor(all.length / step));
	for (let i = 0; i < pcm.length; i++) {
		let sum = 0;
		for (let k = 0; k < step; k++) sum += all[i * step + k];
		pcm[i] = Math.max(-32768, Math.min(32767, Math.round((sum / step) * 32768)));
	}
	self.postMessage({ t, pcm }, [pcm.buffer]);
}
function place(meta) {
	const arrived = performance.timeOrigin + meta.receiveTime;
	if (anchor) {
		const expected = anchor.t + ((meta.rtpTimestamp - anchor.rtp) | 0) / TICKS_PER_MS;
		if (arrived >= expected && arrived < expected + ${RESYNC_MS}) return expected;
	}
	anchor = { rtp: meta.rtpTimestamp, t: arrived };
	return arrived;
}
`;

/**
 * Decoded pieces of voice, placed by their times into the recording's chunks. A chunk's own
 * time wobbles by the audio thread's quantum, so samples are placed on one sample clock: the
 * first chunk's, set again only when the chunks' times move away from it.
 */
export class ReceivedTimeline {
	#pieces: ReceivedPiece[] = [];
	#clock: { index: number; t: number } | null = null; // a sample of the recording and its time

	constructor(private readonly rate: number) {}

	add(piece: ReceivedPiece): void {
		if (this.#pieces.push(piece) > MAX_PIECES) this.#pieces.shift();
	}

	/** The voice over a chunk's samples `index` to `index + n`, the first of them at `t` (epoch ms). */
	take(index: number, t: number, n: number): Int16Array {
		let clock = this.#clock;
		if (clock === null || Math.abs(clock.t + ((index - clock.index) * 1000) / this.rate - t) > CLOCK_SLACK_MS) {
			clock = { index, t };
			this.#clock = clock;
		}
		const out = new Int16Array(n);
		const later: ReceivedPiece[] = [];
		for (const piece of this.#pieces) {
			const at = clock.index - index + Math.round(((piece.t - clock.t) * this.rate) / 1000);
			const from = Math.max(0, -at);
			const to = Math.min(piece.pcm.length, n - at);
			if (to > from) out.set(piece.pcm.subarray(from, to), at + from);
			if (at + piece.pcm.length > n) later.push(piece);
		}
		this.#pieces = later;
		return out;
	}
}

/** The model's voice as received by `receiver`: its frames decoded in a worker, until stopped. */
export class ReceivedAudio {
	readonly #worker: FrameWorker<ReceivedPiece>;
	readonly timeline: ReceivedTimeline;

	constructor(receiver: RTCRtpReceiver, rate: number, onError: (message: string) => void) {
		this.timeline = new ReceivedTimeline(rate);
		this.#worker = new FrameWorker(workerSource(rate), receiver, (piece) => this.timeline.add(piece), onError);
	}

	/** Stop copying. The worker goes on passing the receiver's frames until the call ends, then closes. */
	stop(): void {
		this.#worker.stop();
	}
}
