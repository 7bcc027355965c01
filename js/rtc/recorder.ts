// Records both sides of a call in the page: the microphone as sent (silence while muted) and
// the model's voice as received, as 16-bit PCM at 24 kHz, in chunks stamped on the events'
// clock. No DOM: Web Audio only. The chunks go to the kernel, which streams them to disk.
//
// An AudioWorklet node samples the microphone; each chunk carries the index of its first
// sample and the wall-clock time it entered the audio graph. The model's voice for the same
// samples comes from the frames as they arrived (./received-audio.ts); where the browser cannot
// copy them, from the worklet's second input, the voice as played (after the jitter buffer).

import { nowMs } from "../clock";
import type { ModelTiming } from "../types";
import { canRecordReceivedAudio, ReceivedAudio } from "./received-audio";
import { canClockSentAudio, type SentAnchor, SentClock } from "./sent-audio";

/** The recording's rate: the Realtime API's own PCM rate (the model's voice has nothing above 12 kHz). */
export const RECORDING_RATE = 24_000;
/** Samples per chunk: a quarter of a second (12 kB per track). */
export const CHUNK_SAMPLES = RECORDING_RATE / 4;

export interface AudioChunk {
	/** The first sample's index in this recording (counted from its start). */
	index: number;
	/** When the first sample entered the audio graph, Unix epoch milliseconds. */
	t: number;
	mic: Int16Array;
	model: Int16Array;
	modelTiming: ModelTiming;
}

// The worklet's code is loaded from a Blob URL: the bundle is one file, and a worklet needs a module URL.
const PROCESSOR = `
class RtWidgetRecorder extends AudioWorkletProcessor {
	constructor(options) {
		super();
		this.size = options.processorOptions.chunk;
		this.fill = 0;
		this.index = 0;
		this.first = 0;
		this.stopped = false;
		this.fresh();
		this.port.onmessage = () => { this.flush(); this.stopped = true; };
	}
	fresh() { this.mic = new Int16Array(this.size); this.model = new Int16Array(this.size); }
	process(inputs) {
		if (this.stopped) return false;
		const mic = inputs[0] && inputs[0][0];
		const model = inputs[1] && inputs[1][0];
		const n = (mic || model || { length: 128 }).length;
		for (let i = 0; i < n; i++) {
			if (this.fill === 0) this.first = currentFrame + i;
			this.mic[this.fill] = mic ? Math.max(-32768, Math.min(32767, Math.round(mic[i] * 32768))) : 0;
			this.model[this.fill] = model ? Math.max(-32768, Math.min(32767, Math.round(model[i] * 32768))) : 0;
			if (++this.fill === this.size) this.flush();
		}
		return true;
	}
	flush() {
		if (this.fill === 0) return;
		const mic = this.mic.slice(0, this.fill), model = this.model.slice(0, this.fill);
		this.port.postMessage({ index: this.index, frame: this.first, mic, model }, [mic.buffer, model.buffer]);
		this.index += this.fill;
		this.fill = 0;
		this.fresh();
	}
}
registerProcessor("rt-widget-recorder", RtWidgetRecorder);
`;

interface WorkletChunk {
	index: number;
	frame: number;
	mic: Int16Array;
	model: Int16Array;
}

/** Records a call's microphone and the model's voice until stopped. */
export class Recorder {
	#context: AudioContext | null = null;
	#node: AudioWorkletNode | null = null;
	#mic: MediaStreamAudioSourceNode | null = null;
	#received: ReceivedAudio | null = null;
	#sent: SentClock | null = null;

	/**
	 * Made before the call's offer: from then on, the frames the audio transceiver receives are
	 * copied (./received-audio.ts), and those it sends give the sent audio's clock (./sent-audio.ts).
	 */
	constructor(
		private readonly onChunk: (chunk: AudioChunk) => void,
		onAnchor: (anchor: SentAnchor) => void,
		onError: (message: string) => void,
		transceiver: RTCRtpTransceiver,
	) {
		if (canRecordReceivedAudio()) {
			this.#received = new ReceivedAudio(transceiver.receiver, RECORDING_RATE, (message) =>
				onError(`The model's voice could not be recorded from here on: ${message}`),
			);
		}
		if (canClockSentAudio()) {
			this.#sent = new SentClock(transceiver.sender, onAnchor, (message) =>
				onError(`The service's speech times cannot be placed on the recording from here on: ${message}`),
			);
		}
	}

	/** Start recording the model's voice (the remote stream) and `mic` (null: silence on that track). */
	async start(mic: MediaStream | null, model: MediaStream): Promise<void> {
		const context = new AudioContext({ sampleRate: RECORDING_RATE });
		this.#context = context;
		const url = URL.createObjectURL(new Blob([PROCESSOR], { type: "application/javascript" }));
		try {
			await context.audioWorklet.addModule(url);
		} finally {
			URL.revokeObjectURL(url);
		}
		if (this.#context !== context) return; // stopped meanwhile
		const node = new AudioWorkletNode(context, "rt-widget-recorder", {
			numberOfInputs: 2,
			numberOfOutputs: 1,
			channelCount: 1,
			channelCountMode: "explicit",
			channelInterpretation: "speakers",
			processorOptions: { chunk: CHUNK_SAMPLES },
		});
		this.#node = node;
		node.port.onmessage = (e: MessageEvent<WorkletChunk>) => this.#chunk(context, e.data);
		if (this.#received === null) context.createMediaStreamSource(model).connect(node, 0, 1);
		this.useMicrophone(mic);
		node.connect(context.destination); // its output is silent; connected so the graph runs it
		await context.resume();
	}

	/** Record this microphone from now on (after a switch of microphone). */
	useMicrophone(mic: MediaStream | null): void {
		const context = this.#context;
		const node = this.#node;
		if (!context || !node) return;
		this.#mic?.disconnect();
		this.#mic = mic && mic.getAudioTracks().length > 0 ? context.createMediaStreamSource(mic) : null;
		this.#mic?.connect(node, 0, 0);
	}

	/** Stop, sending what is still buffered. Safe to call more than once. */
	stop(): void {
		const context = this.#context;
		this.#node?.port.postMessage("stop");
		this.#context = null;
		this.#node = null;
		this.#mic = null;
		// Close once the last chunk had time to come back from the audio thread.
		if (context) setTimeout(() => void context.close(), 200);
		this.#received?.stop();
		this.#sent?.stop();
	}

	#chunk(context: AudioContext, chunk: WorkletChunk): void {
		// The chunk entered the graph at context time frame / rate; currentTime is now.
		const t = nowMs() - (context.currentTime - chunk.frame / context.sampleRate) * 1000;
		const received = this.#received;
		const model = received ? received.timeline.take(chunk.index, t, chunk.mic.length) : chunk.model;
		this.onChunk({ index: chunk.index, t, mic: chunk.mic, model, modelTiming: received ? "received" : "played" });
	}
}
