// A worker on the encoded frames of a sender or a receiver (RTCRtpScriptTransform), loaded from
// a Blob URL: the bundle is one file, and a worker needs a URL. No DOM.
//
// The worker's code (the `source` given) defines `take(frame)` and `use(taken)`. Every frame is
// passed on as it comes: `take` runs before (a written frame belongs to the network) and returns
// what to keep of it, or null; `use` runs after. A failure in either, or a `fail(err)` from the
// worker's own code, only stops the taking: never the call's audio.
const LOOP = `
let taking = true;
function fail(err) {
	if (taking) self.postMessage({ error: String(err) });
	taking = false;
}
onmessage = () => { taking = false; }; // stopped: frames still pass until the call ends
onrtctransform = async (e) => {
	const reader = e.transformer.readable.getReader();
	const writer = e.transformer.writable.getWriter();
	for (;;) {
		const { value, done } = await reader.read();
		if (done) break;
		let taken = null;
		if (taking) {
			try { taken = take(value); } catch (err) { fail(err); }
		}
		await writer.write(value);
		if (taken !== null) {
			try { use(taken); } catch (err) { fail(err); }
		}
	}
	self.close(); // the call has ended
};
`;

/** A frame worker on `target`, its messages to `onMessage` (its errors to `onError`) until stopped. */
export class FrameWorker<T> {
	readonly #worker: Worker;
	readonly #url: string;

	constructor(
		source: string,
		target: RTCRtpSender | RTCRtpReceiver,
		onMessage: (data: T) => void,
		onError: (message: string) => void,
	) {
		// The URL stays valid while the worker lives: it loads its script after the constructor returns.
		this.#url = URL.createObjectURL(new Blob([LOOP, source], { type: "text/javascript" }));
		this.#worker = new Worker(this.#url);
		this.#worker.onerror = (e) => onError(e.message);
		this.#worker.onmessage = (e: MessageEvent<T | { error: string }>) => {
			const data = e.data;
			if (typeof data === "object" && data !== null && "error" in data) onError(data.error);
			else onMessage(data as T);
		};
		target.transform = new RTCRtpScriptTransform(this.#worker);
	}

	/** Stop taking. The worker goes on passing the frames until the call ends, then closes. */
	stop(): void {
		this.#worker.postMessage("stop");
		URL.revokeObjectURL(this.#url);
	}
}
