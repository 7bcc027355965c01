// Live level meters for the microphone and the model's voice (Web Audio analysers).

import { h, perFrame } from "./dom";
import type { Shown } from "./shown";

/** The loudness of one stream, 0 to 1, read from an AnalyserNode. */
export class LevelMeter {
	readonly #analyser: AnalyserNode;
	readonly #source: MediaStreamAudioSourceNode;
	readonly #samples: Float32Array<ArrayBuffer>;

	constructor(
		context: AudioContext,
		readonly stream: MediaStream,
	) {
		this.#source = context.createMediaStreamSource(stream);
		this.#analyser = context.createAnalyser();
		this.#analyser.fftSize = 512;
		this.#samples = new Float32Array(this.#analyser.fftSize);
		this.#source.connect(this.#analyser);
	}

	/** RMS level scaled so that speech fills most of the bar. */
	level(): number {
		this.#analyser.getFloatTimeDomainData(this.#samples);
		let sum = 0;
		for (const x of this.#samples) sum += x * x;
		return Math.min(1, Math.sqrt(sum / this.#samples.length) * 4);
	}

	dispose(): void {
		this.#source.disconnect();
		this.#analyser.disconnect();
	}
}

export interface MeterEnvironment {
	createContext(): AudioContext;
	requestFrame(callback: () => void): number;
	cancelFrame(handle: number): void;
}

const browser: MeterEnvironment = {
	createContext: () => new AudioContext(),
	requestFrame: (callback) => requestAnimationFrame(callback),
	cancelFrame: (handle) => cancelAnimationFrame(handle),
};

export function renderMeters(root: HTMLElement, session: Shown, env: MeterEnvironment = browser): () => void {
	const bar = (label: string, className: string) =>
		h(
			"div",
			{
				class: `rt-meter ${className}`,
				role: "meter",
				"aria-label": label,
				"aria-valuemin": 0,
				"aria-valuemax": 100,
				"aria-valuenow": 0,
			},
			h("span", { class: "rt-meter-fill" }),
		);
	const mic = bar("Microphone level", "rt-meter-mic");
	const voice = bar("Model voice level", "rt-meter-voice");
	const panel = h(
		"div",
		{ class: "rt-meters" },
		h("span", { class: "rt-meter-label" }, "You"),
		mic,
		h("span", { class: "rt-meter-label" }, "Model"),
		voice,
	);
	root.append(panel);

	let context: AudioContext | null = null;
	let meters: { mic: LevelMeter | null; voice: LevelMeter | null } = { mic: null, voice: null };
	let frame: number | null = null;

	const show = (el: HTMLElement, level: number) => {
		const percent = String(Math.round(level * 100));
		if (el.getAttribute("aria-valuenow") === percent) return;
		// A transform, not a width: the bar moves sixty times a second without a layout.
		(el.firstElementChild as HTMLElement).style.transform = `scaleX(${Number(percent) / 100})`;
		el.setAttribute("aria-valuenow", percent);
	};
	const draw = () => {
		frame = null;
		show(mic, meters.mic?.level() ?? 0);
		show(voice, meters.voice?.level() ?? 0);
		if (meters.mic || meters.voice) frame = env.requestFrame(draw);
	};
	const attach = (current: LevelMeter | null, stream: MediaStream | null): LevelMeter | null => {
		if (current?.stream === stream) return current;
		current?.dispose();
		if (!stream || stream.getAudioTracks().length === 0) return null;
		context ??= env.createContext();
		return new LevelMeter(context, stream);
	};
	const follow = () => {
		meters = { mic: attach(meters.mic, session.microphone), voice: attach(meters.voice, session.voice) };
		if (frame === null && (meters.mic || meters.voice)) frame = env.requestFrame(draw);
		if (!meters.mic && !meters.voice) {
			show(mic, 0);
			show(voice, 0);
		}
	};
	const refollow = perFrame(follow); // streams change rarely, events often: look once a frame
	const unsubscribe = session.subscribe(refollow);
	follow();
	return () => {
		unsubscribe();
		refollow.cancel();
		if (frame !== null) env.cancelFrame(frame);
		meters.mic?.dispose();
		meters.voice?.dispose();
		void context?.close();
		panel.remove();
	};
}
