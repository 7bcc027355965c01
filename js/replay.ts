// A saved session played back in the widget: its events and both voices come from the kernel
// once; no provider, no network, and nothing goes back to the kernel as if it were new. The
// model's voice is the clock: the transcript, the meters and the event log show what had
// happened at its playhead.

import type { AnyModel } from "@anywidget/types";
import type { ReplayData, ReplayModel, WireEvent } from "./types";
import { EventLogModel } from "./ui/eventlog-model";
import type { Shown } from "./ui/shown";
import { TranscriptModel } from "./ui/transcript-model";

export const SPEEDS = [0.5, 1, 1.5, 2] as const;

/** An element's audio as a stream, for the meters (Chromium and Firefox have it). */
function streamOf(audio: HTMLAudioElement): MediaStream | null {
	const element = audio as HTMLAudioElement & { captureStream?: () => MediaStream };
	try {
		return element.captureStream?.() ?? null;
	} catch {
		return null;
	}
}

export class ReplaySession implements Shown {
	readonly log = new EventLogModel();
	readonly transcript = new TranscriptModel();
	transcriptVersion = 0;
	/** Why the recording could not be shown, if it could not. */
	error = "";
	#events: WireEvent[] = []; // in time order
	#shown = 0; // how many of them are shown
	#origin = 0; // epoch ms of both tracks' first sample
	#duration = 0; // seconds
	#loaded = false;
	readonly #mic = new Audio();
	readonly #voice = new Audio();
	#streams: { mic: MediaStream | null; voice: MediaStream | null } = { mic: null, voice: null };
	#frame: number | null = null;
	#urls: string[] = [];
	readonly #listeners = new Set<() => void>();

	constructor(private readonly model: AnyModel<ReplayModel>) {
		model.on("msg:custom", this.#onMessage);
		this.#voice.addEventListener("ended", () => this.pause());
		model.send({ kind: "load" });
	}

	get loaded(): boolean {
		return this.#loaded;
	}

	/** The playhead, seconds from the recording's start. */
	get position(): number {
		return this.#voice.currentTime;
	}

	get duration(): number {
		return this.#duration;
	}

	get playing(): boolean {
		return !this.#voice.paused;
	}

	get speed(): number {
		return this.#voice.playbackRate;
	}

	get microphone(): MediaStream | null {
		return this.playing ? this.#streams.mic : null;
	}

	get voice(): MediaStream | null {
		return this.playing ? this.#streams.voice : null;
	}

	subscribe(listener: () => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	async play(): Promise<void> {
		if (!this.#loaded) return;
		if (this.position >= this.#duration) this.seek(0);
		this.#mic.currentTime = this.#voice.currentTime;
		try {
			await Promise.all([this.#voice.play(), this.#mic.play()]);
		} catch (err) {
			this.error = `The recording could not play: ${err instanceof Error ? err.message : String(err)}`;
		}
		this.#streams.mic ??= streamOf(this.#mic);
		this.#streams.voice ??= streamOf(this.#voice);
		this.#tick();
	}

	pause(): void {
		this.#voice.pause();
		this.#mic.pause();
		if (this.#frame !== null) cancelAnimationFrame(this.#frame);
		this.#frame = null;
		this.#show();
	}

	/** Move the playhead to `seconds` from the start. */
	seek(seconds: number): void {
		const to = Math.max(0, Math.min(this.#duration, seconds));
		this.#voice.currentTime = to;
		this.#mic.currentTime = to;
		this.#show(to);
	}

	/** Move the playhead to an event's time (epoch ms), as when it is picked in the log. */
	jumpTo(t: number): void {
		this.seek((t - this.#origin) / 1000);
	}

	setSpeed(rate: number): void {
		this.#voice.playbackRate = rate;
		this.#mic.playbackRate = rate;
		this.#changed();
	}

	dispose(): void {
		this.pause();
		this.model.off("msg:custom", this.#onMessage);
		for (const url of this.#urls) URL.revokeObjectURL(url);
		this.#mic.removeAttribute("src");
		this.#voice.removeAttribute("src");
		this.#listeners.clear();
	}

	#tick = (): void => {
		this.#show();
		this.#frame = this.playing ? requestAnimationFrame(this.#tick) : null;
	};

	/** Show what had happened by `position` (seconds): forward from what is shown, or over again. */
	#show(position = this.position): void {
		const until = this.#origin + position * 1000;
		if (this.#shown > 0 && this.#events[this.#shown - 1].t > until) {
			this.log.clear();
			this.transcript.clear();
			this.#shown = 0;
			this.transcriptVersion++;
		}
		while (this.#shown < this.#events.length && this.#events[this.#shown].t <= until) {
			const { direction, event, t } = this.#events[this.#shown++];
			this.log.add(direction, event, t);
			if (this.transcript.apply(event)) this.transcriptVersion++;
		}
		this.#changed();
	}

	#onMessage = (msg: ReplayData, buffers?: DataView[]): void => {
		if (msg.kind !== "replay") return;
		if (msg.error || !buffers || buffers.length !== 2) {
			this.error = msg.error || "The kernel sent the recording without its audio.";
			this.#changed();
			return;
		}
		this.#events = [...msg.events].sort((a, b) => a.t - b.t);
		this.#origin = msg.origin;
		this.#duration = msg.duration;
		for (const [audio, buffer] of [
			[this.#mic, buffers[0]],
			[this.#voice, buffers[1]],
		] as const) {
			const bytes = new Uint8Array(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength);
			const url = URL.createObjectURL(new Blob([bytes], { type: "audio/flac" }));
			this.#urls.push(url);
			audio.preload = "auto";
			audio.src = url;
		}
		this.#loaded = true;
		this.#show(0);
	};

	#changed(): void {
		for (const listener of this.#listeners) listener();
	}
}
