// The model-level controller: one call at a time per widget, shared by all of its views.
// It keeps what the views show (event log, transcript) and the conversation state the
// controls need (active response, turn detection), and carries out their commands.

import type { AnyModel } from "@anywidget/types";
import { EventBatcher, reportApproval, reportCall, reportSentAnchor, reportState, requestAnswer } from "./bridge";
import { nowMs } from "./clock";
import { randomId } from "./ids";
import { KernelChannel } from "./kernel-channel";
import { PushToTalk } from "./push-to-talk";
import { Call, type CallState } from "./rtc/call";
import { microphoneBlocked } from "./rtc/microphone";
import { type AudioChunk, RECORDING_RATE, Recorder } from "./rtc/recorder";
import type { Direction, KernelMessage, RealtimeEvent, RealtimeModel, Status } from "./types";
import { EventLogModel } from "./ui/eventlog-model";
import { TranscriptModel } from "./ui/transcript-model";

const MICROPHONE_KEY = "rt-widget.microphone";

export class Session {
	readonly log = new EventLogModel();
	readonly transcript = new TranscriptModel();
	/** Goes up whenever the transcript changes (views skip redrawing otherwise). */
	transcriptVersion = 0;
	/** Why this page cannot use a microphone, with what to do (null: it can). Calls then join
	 * without one, so turns sent from Python still work. */
	readonly microphoneNotice = microphoneBlocked({
		secure: globalThis.isSecureContext !== false,
		hasGetUserMedia: typeof navigator.mediaDevices?.getUserMedia === "function",
		hostname: location.hostname,
		port: location.port,
		path: location.pathname,
	});
	/** When the current call connected (performance.now()), for the call duration. */
	connectedAt: number | null = null;
	readonly #channel: KernelChannel;
	readonly #batcher: EventBatcher;
	readonly #audio: HTMLAudioElement;
	readonly #listeners = new Set<() => void>();
	#call: Call | null = null;
	#statsTimer: ReturnType<typeof setInterval> | null = null;
	#activeResponse: string | null = null;
	/** This page's own call's state (null: it has made no call), shown at once by its views;
	 * the kernel owns the `status` and `error` traits and sets them from what this page reports. */
	#status: Status | null = null;
	#turnDetection = true; // off: push-to-talk commits each turn
	#ptt: PushToTalk | null = null; // for the current call
	#recorder: Recorder | null = null; // while the current call is recorded

	constructor(private readonly model: AnyModel<RealtimeModel>) {
		this.#channel = new KernelChannel(model);
		this.#channel.requestLink(location.hostname);
		this.#batcher = new EventBatcher(this.#channel);
		this.#audio = new Audio();
		this.#audio.autoplay = true;
		this.#audio.volume = model.get("volume") ?? 1;
		this.#channel.on("msg:custom", this.#onKernelMessage);
		if (["connecting", "connected"].includes(model.get("status"))) {
			// A call belongs to the page that made it: this one was left by a page since reloaded
			// or closed, and its media ended with that page.
			reportState(this.#channel, "closed", "");
		}
		model.on("change:muted", this.#onMuted);
		model.on("change:volume", this.#onVolume);
		if (model.get("_echo")) model.on("change:event_count", this.#echo);
	}

	/** The call's state as this page knows it: its own call's, else the kernel's. */
	get status(): Status {
		const kernel = this.model.get("status");
		// The kernel may end this page's call with an error the page never saw (the sideband heard
		// the service's session_expired first and asked the page to hang up): the error stands.
		if (this.#status === "closed" && kernel === "error") return "error";
		return this.#status ?? kernel;
	}

	get active(): boolean {
		const state = this.#call?.state;
		return state === "connecting" || state === "connected";
	}

	/** The microphone stream and the model's voice, while a call has them. */
	get microphone(): MediaStream | null {
		return this.#call?.microphone ?? null;
	}

	get voice(): MediaStream | null {
		return this.#audio.srcObject instanceof MediaStream ? this.#audio.srcObject : null;
	}

	/** The chosen microphone's deviceId ("" for the default), remembered in this browser. */
	get microphoneId(): string {
		try {
			return localStorage.getItem(MICROPHONE_KEY) ?? "";
		} catch {
			return "";
		}
	}

	/** Call `listener` after anything a view shows has changed; returns the unsubscribe. */
	subscribe(listener: () => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	async connect(): Promise<void> {
		if (this.active) return;
		const call = new Call(
			// The offer goes once the link is settled, so the call's commands can come back on it.
			(sdp) => this.#channel.linkSettled().then(() => requestAnswer(this.#channel, sdp)),
			{
				onEvent: (direction, event, time) => this.#onEvent(call, direction, event, time),
				onState: (state, detail) => this.#onState(call, state, detail),
				onAudioTransceiver: (transceiver) => this.#prepareRecording(call, transceiver),
				onRemoteStream: (stream) => {
					this.#audio.srcObject = stream;
					this.#record(call, stream);
					this.#changed();
				},
			},
			{ microphone: this.microphoneNotice === null, deviceId: this.microphoneId },
		);
		this.#call = call;
		this.#activeResponse = null;
		await call.connect();
		call.setMuted(this.model.get("muted"));
		if (call.callId) reportCall(this.#channel, call.callId);
		this.#changed();
	}

	/** A view of this session was drawn. */
	viewed(): void {
		this.#channel.send({ kind: "view" });
	}

	hangup(): void {
		this.#call?.close();
	}

	/** Use another microphone now (if in a call) and for the next calls. */
	async useMicrophone(deviceId: string): Promise<void> {
		try {
			localStorage.setItem(MICROPHONE_KEY, deviceId);
		} catch {
			// storage may be off (private windows): the choice then lasts for this page only
		}
		if (this.#call?.state === "connected") {
			try {
				await this.#call.switchMicrophone(deviceId);
				this.#recorder?.useMicrophone(this.#call.microphone);
			} catch (err) {
				this.#setError(err instanceof Error ? err.message : String(err));
			}
		}
		this.#changed();
	}

	/**
	 * Push-to-talk. Holding opens the microphone; letting go mutes it again and, when turn
	 * detection is off, commits what was said and asks for a reply.
	 */
	pushToTalk(down: boolean): void {
		const call = this.#call;
		if (call?.state !== "connected") return;
		this.#ptt ??= new PushToTalk((event) => this.#send(event), call);
		const ptt = this.#ptt;
		const changed = down ? ptt.press(this.#turnDetection) : ptt.release(this.#turnDetection, this.model.get("muted"));
		if (changed) this.#changed();
	}

	/** Whether this page is recording its call (the REC mark). */
	get recording(): boolean {
		return this.#recorder !== null;
	}

	get talking(): boolean {
		return this.#ptt?.down ?? false;
	}

	/** Approve or deny a tool call waiting in the kernel. */
	decide(callId: string, approved: boolean): void {
		reportApproval(this.#channel, callId, approved);
	}

	/** Stop the model: cancel the response in progress, then cut off its audio. */
	interrupt(): void {
		if (this.#activeResponse !== null) this.#send({ type: "response.cancel" });
		this.#send({ type: "output_audio_buffer.clear" });
	}

	dispose(): void {
		if (this.#statsTimer !== null) clearInterval(this.#statsTimer);
		this.model.off("change:muted", this.#onMuted);
		this.model.off("change:volume", this.#onVolume);
		this.model.off("change:event_count", this.#echo);
		this.hangup();
		this.#stopRecording();
		this.#batcher.flush();
		this.#channel.dispose();
		this.#audio.srcObject = null;
		this.#listeners.clear();
	}

	#onEvent(call: Call, direction: Direction, event: RealtimeEvent, time: number): void {
		this.#batcher.push(direction, event, time, call.callId);
		this.log.add(direction, event, time);
		if (this.transcript.apply(event)) this.transcriptVersion++;
		if (direction === "server") this.#track(event);
		this.#changed();
	}

	#track(event: RealtimeEvent): void {
		if (event.type === "response.created") {
			this.#activeResponse = String((event.response as { id?: string } | undefined)?.id ?? "");
		} else if (event.type === "response.done") {
			this.#activeResponse = null;
		} else if (event.type === "session.created" || event.type === "session.updated") {
			const session = (event.session ?? {}) as Record<string, unknown>;
			const audio = session.audio as { input?: { turn_detection?: unknown } } | undefined;
			const detection =
				audio?.input && "turn_detection" in audio.input ? audio.input.turn_detection : session.turn_detection;
			this.#turnDetection = detection !== null && detection !== undefined;
		}
	}

	#send(event: RealtimeEvent): void {
		try {
			if (!this.#call) throw new Error(`Cannot send '${event.type}': press Connect first.`);
			this.#call.send(event);
		} catch (err) {
			this.#setError(err instanceof Error ? err.message : String(err));
		}
	}

	#sampleStats(call: Call): void {
		if (this.#statsTimer !== null) clearInterval(this.#statsTimer);
		this.#statsTimer = setInterval(async () => {
			if (call.state !== "connected") return;
			const stats = await call.stats();
			if (stats) this.#channel.send({ kind: "stats", call_id: call.callId, t: nowMs(), stats });
		}, 1000);
	}

	#onState(call: Call, state: CallState, detail?: string): void {
		if (call !== this.#call) return; // a previous call finishing late
		if (state === "connected") {
			this.connectedAt = performance.now();
			this.#sampleStats(call);
		} else if (state !== "connecting") {
			this.connectedAt = null;
			this.#ptt = null;
			this.#stopRecording();
			if (this.#statsTimer !== null) clearInterval(this.#statsTimer);
			this.#statsTimer = null;
		}
		this.#batcher.flush(); // the kernel gets the call's events before the state they led to
		this.#status = state;
		reportState(this.#channel, state, state === "error" ? (detail ?? "Unknown error") : "");
		this.#changed();
	}

	#prepareRecording(call: Call, transceiver: RTCRtpTransceiver): void {
		this.#stopRecording();
		if (!this.model.get("record")) return;
		const segment = randomId();
		this.#recorder = new Recorder(
			(chunk) => this.#sendChunk(segment, chunk),
			// The first frame goes out once the call is connected: its id is known by then.
			(anchor) => reportSentAnchor(this.#channel, call.callId, anchor),
			(message) => this.#setError(message),
			transceiver,
		);
	}

	#record(call: Call, stream: MediaStream): void {
		const recorder = this.#recorder;
		if (recorder === null) return;
		recorder.start(call.microphone, stream).catch((err: unknown) => {
			recorder.stop();
			if (this.#recorder === recorder) this.#recorder = null;
			this.#setError(`The call could not be recorded: ${err instanceof Error ? err.message : String(err)}`);
			this.#changed();
		});
	}

	#sendChunk(segment: string, chunk: AudioChunk): void {
		const samples = chunk.mic.length;
		const payload = new Uint8Array(4 * samples);
		payload.set(new Uint8Array(chunk.mic.buffer, chunk.mic.byteOffset, 2 * samples), 0);
		payload.set(new Uint8Array(chunk.model.buffer, chunk.model.byteOffset, 2 * samples), 2 * samples);
		const header = {
			kind: "audio",
			segment,
			index: chunk.index,
			t: chunk.t,
			rate: RECORDING_RATE,
			samples,
			model_track: chunk.modelTiming,
		} as const;
		this.#channel.sendAudio(header, payload.buffer);
	}

	#stopRecording(): void {
		this.#recorder?.stop();
		this.#recorder = null;
	}

	#setError(message: string): void {
		reportState(this.#channel, undefined, message);
	}

	#changed(): void {
		for (const listener of this.#listeners) listener();
	}

	#onMuted = (): void => {
		if (!this.talking) this.#call?.setMuted(this.model.get("muted"));
	};

	// marimo reruns the cells that read the widget only for changes made here: answer the kernel's.
	#echo = (): void => {
		this.model.set("_echoed", this.model.get("event_count"));
		this.model.save_changes();
	};

	#onVolume = (): void => {
		this.#audio.volume = Math.min(1, Math.max(0, this.model.get("volume") ?? 1));
	};

	#onKernelMessage = (msg: KernelMessage): void => {
		if (msg.kind === "connect") void this.connect();
		else if (msg.kind === "hangup") this.hangup();
		else if (msg.kind === "send") this.#send(msg.event);
	};
}
