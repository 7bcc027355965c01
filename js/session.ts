// The model-level controller: one call at a time per widget, shared by all of its views.

import type { AnyModel } from "@anywidget/types";
import { EventBatcher, reportCall, requestAnswer } from "./bridge";
import { nowMs } from "./clock";
import { Call, type CallState } from "./rtc/call";
import type { KernelMessage, RealtimeEvent, RealtimeModel, Status } from "./types";

export class Session {
	readonly #batcher: EventBatcher;
	readonly #audio: HTMLAudioElement;
	#call: Call | null = null;
	#statsTimer: ReturnType<typeof setInterval> | null = null;

	constructor(private readonly model: AnyModel<RealtimeModel>) {
		this.#batcher = new EventBatcher(model);
		this.#audio = new Audio();
		this.#audio.autoplay = true;
		model.on("msg:custom", this.#onKernelMessage);
		model.on("change:muted", this.#onMuted);
	}

	get active(): boolean {
		const state = this.#call?.state;
		return state === "connecting" || state === "connected";
	}

	async connect(): Promise<void> {
		if (this.active) return;
		const call = new Call((sdp) => requestAnswer(this.model, sdp), {
			onEvent: (direction, event, time) => this.#batcher.push(direction, event, time, call.callId),
			onState: (state, detail) => this.#onState(call, state, detail),
			onRemoteStream: (stream) => {
				this.#audio.srcObject = stream;
			},
		});
		this.#call = call;
		await call.connect();
		call.setMuted(this.model.get("muted"));
		if (call.callId) reportCall(this.model, call.callId);
	}

	hangup(): void {
		this.#call?.close();
	}

	dispose(): void {
		if (this.#statsTimer !== null) clearInterval(this.#statsTimer);
		this.model.off("msg:custom", this.#onKernelMessage);
		this.model.off("change:muted", this.#onMuted);
		this.hangup();
		this.#batcher.flush();
		this.#audio.srcObject = null;
	}

	#sampleStats(call: Call): void {
		if (this.#statsTimer !== null) clearInterval(this.#statsTimer);
		this.#statsTimer = setInterval(async () => {
			if (call.state !== "connected") return;
			const stats = await call.stats();
			if (stats) this.model.send({ kind: "stats", call_id: call.callId, t: nowMs(), stats });
		}, 1000);
	}

	#onState(call: Call, state: CallState, detail?: string): void {
		if (call !== this.#call) return; // a previous call finishing late
		if (state === "connected") this.#sampleStats(call);
		else if (state !== "connecting" && this.#statsTimer !== null) {
			clearInterval(this.#statsTimer);
			this.#statsTimer = null;
		}
		this.#batcher.flush();
		this.#setStatus(state, state === "error" ? (detail ?? "Unknown error") : "");
		if (state === "connecting") this.model.set("call_id", "");
		if (call.callId) this.model.set("call_id", call.callId);
		this.model.save_changes();
	}

	#setStatus(status: Status, error: string): void {
		this.model.set("status", status);
		this.model.set("error", error);
	}

	#onMuted = (): void => {
		this.#call?.setMuted(this.model.get("muted"));
	};

	#onKernelMessage = (msg: KernelMessage): void => {
		if (msg.kind === "connect") void this.connect();
		else if (msg.kind === "hangup") this.hangup();
		else if (msg.kind === "send") this.#sendFromKernel(msg.event);
	};

	#sendFromKernel(event: RealtimeEvent): void {
		try {
			if (!this.#call) throw new Error(`Cannot send '${event.type}': press Connect first.`);
			this.#call.send(event);
		} catch (err) {
			this.model.set("error", err instanceof Error ? err.message : String(err));
			this.model.save_changes();
		}
	}
}
