// Push-to-talk as commands: what to send when the talk button is pressed and let go.

import type { RealtimeEvent } from "./types";

export interface Microphone {
	setMuted(muted: boolean): void;
}

/**
 * Holding opens the microphone. With turn detection off, pressing also drops whatever the
 * input buffer held, and letting go commits what was said and asks for a reply; with turn
 * detection on, the server finds the turn by itself.
 */
export class PushToTalk {
	#down = false;

	constructor(
		private readonly send: (event: RealtimeEvent) => void,
		private readonly microphone: Microphone,
	) {}

	get down(): boolean {
		return this.#down;
	}

	press(turnDetection: boolean): boolean {
		if (this.#down) return false;
		this.#down = true;
		if (!turnDetection) this.send({ type: "input_audio_buffer.clear" });
		this.microphone.setMuted(false);
		return true;
	}

	/** Let go; `muted` is the mute state to go back to. */
	release(turnDetection: boolean, muted: boolean): boolean {
		if (!this.#down) return false;
		this.#down = false;
		this.microphone.setMuted(muted);
		if (!turnDetection) {
			this.send({ type: "input_audio_buffer.commit" });
			this.send({ type: "response.create" });
		}
		return true;
	}
}
