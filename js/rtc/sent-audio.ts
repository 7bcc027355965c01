// When the microphone's audio was captured, by its RTP time. The service counts the
// milliseconds of its input buffer (`audio_start_ms`, `audio_end_ms`) from the first frame the
// call sent; each sent frame's capture time puts that count on the events' clock, with none of
// the capture, encoding and network delay a receiver sees. The encoded frames are read in a
// worker (RTCRtpScriptTransform) on their way to the network and passed on untouched.
// No DOM.

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

// Loaded from a Blob URL, as ./received-audio.ts's worker. A frame's metadata is read before it
// is passed on (a written frame belongs to the network), the anchor made after; a failure only
// stops the anchors, never the user's voice.
const workerSource = `
const TICKS_PER_MS = 48; // Opus's RTP clock
let reporting = true;
let first = null;
let count = 0;
onmessage = () => { reporting = false; };
onrtctransform = async (e) => {
	const reader = e.transformer.readable.getReader();
	const writer = e.transformer.writable.getWriter();
	for (;;) {
		const { value, done } = await reader.read();
		if (done) break;
		const meta = reporting && count++ % ${ANCHOR_EVERY_FRAMES} === 0 ? value.getMetadata() : null;
		await writer.write(value);
		if (meta) {
			try { report(meta); } catch (err) { self.postMessage({ error: String(err) }); reporting = false; }
		}
	}
	self.close(); // the call has ended
};
function report(meta) {
	if (typeof meta.captureTime !== "number") throw new Error("this browser gives sent frames no captureTime");
	first ??= meta.rtpTimestamp;
	const ms = ((meta.rtpTimestamp - first) >>> 0) / TICKS_PER_MS;
	self.postMessage({ ms, t: performance.timeOrigin + meta.captureTime });
}
`;

/** The clock of the audio `sender` sends, reported as anchors until stopped. */
export class SentClock {
	readonly #worker: Worker;
	readonly #url: string;

	constructor(sender: RTCRtpSender, onAnchor: (anchor: SentAnchor) => void, onError: (message: string) => void) {
		this.#url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
		this.#worker = new Worker(this.#url);
		this.#worker.onerror = (e) => onError(e.message);
		this.#worker.onmessage = (e: MessageEvent<SentAnchor | { error: string }>) => {
			if ("error" in e.data) onError(e.data.error);
			else onAnchor(e.data);
		};
		sender.transform = new RTCRtpScriptTransform(this.#worker);
	}

	/** Stop reporting. The worker goes on passing the sender's frames until the call ends, then closes. */
	stop(): void {
		this.#worker.postMessage("stop");
		URL.revokeObjectURL(this.#url);
	}
}
