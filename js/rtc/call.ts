// One WebRTC call to a Realtime endpoint: peer connection, microphone, `oai-events` channel.
// No DOM here: the caller decides how to play the remote stream and how to show state.

import { nowMs } from "../clock";
import type { Direction, RealtimeEvent } from "../types";

export interface Answer {
	sdp: string;
	callId: string | null;
}

/** Turns the local SDP offer into the remote answer (through the kernel, or directly). */
export type Exchange = (offerSdp: string) => Promise<Answer>;

export type CallState = "connecting" | "connected" | "closed" | "error";

export interface CallHandlers {
	onEvent(direction: Direction, event: RealtimeEvent, time: number): void;
	onState(state: CallState, detail?: string): void;
	onRemoteStream(stream: MediaStream): void;
	/**
	 * The audio transceiver (the microphone's sender, the model voice's receiver), before the
	 * offer is made: a receiver transform has to be set this early (Chromium ignores one set on
	 * an offerer's receiver at its track event).
	 */
	onAudioTransceiver?(transceiver: RTCRtpTransceiver): void;
}

/** Transport statistics from RTCPeerConnection.getStats(), flattened (times in seconds). */
export interface TransportStats {
	rtt_s?: number;
	jitter_s?: number;
	/** How long the model's voice waits in the browser's jitter buffer before it plays (average). */
	jitter_buffer_s?: number;
	packets_lost?: number;
	packets_received?: number;
	packets_sent?: number;
	audio_level_in?: number;
	audio_level_mic?: number;
	codec?: string;
}

export interface CallOptions {
	/** Capture the microphone (true) or only receive audio (false). */
	microphone: boolean;
	/** Which microphone (a deviceId from enumerateDevices); the default one when empty. */
	deviceId?: string;
}

function isSessionExpired(event: RealtimeEvent): boolean {
	const error = event.error as { code?: string } | undefined;
	return event.type === "error" && error?.code === "session_expired";
}

export class Call {
	callId: string | null = null;
	#pc: RTCPeerConnection | null = null;
	#channel: RTCDataChannel | null = null;
	#mic: MediaStream | null = null;
	#state: CallState = "connecting";

	constructor(
		private readonly exchange: Exchange,
		private readonly handlers: CallHandlers,
		private readonly options: CallOptions = { microphone: true },
	) {}

	get state(): CallState {
		return this.#state;
	}

	/** Set up the peer connection and wait until the answer is applied. */
	async connect(): Promise<void> {
		this.#setState("connecting");
		try {
			const pc = new RTCPeerConnection();
			this.#pc = pc;
			pc.ontrack = (e) => this.handlers.onRemoteStream(e.streams[0] ?? new MediaStream([e.track]));
			pc.onconnectionstatechange = () => {
				if (pc.connectionState === "failed") {
					this.#fail("The network path to the server failed (ICE/DTLS). Check firewalls and try again.");
				}
			};
			await this.#addAudio(pc);
			const audio = pc.getTransceivers()[0];
			if (audio) this.handlers.onAudioTransceiver?.(audio);
			this.#openChannel(pc);
			const offer = await pc.createOffer();
			await pc.setLocalDescription(offer);
			const answer = await this.exchange(offer.sdp ?? "");
			if (this.#state !== "connecting") return; // hung up while waiting
			this.callId = answer.callId;
			await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
		} catch (err) {
			this.#fail(err instanceof Error ? err.message : String(err));
		}
	}

	/** Send one client event; it is reported through `onEvent` as sent. */
	send(event: RealtimeEvent): void {
		const channel = this.#channel;
		if (channel?.readyState !== "open") {
			throw new Error(`Cannot send '${event.type}': the call is not connected.`);
		}
		channel.send(JSON.stringify(event));
		this.handlers.onEvent("client", event, nowMs());
	}

	/** A snapshot of the transport: round trip, jitter, loss, audio levels, codec. */
	async stats(): Promise<TransportStats | null> {
		const pc = this.#pc;
		if (!pc) return null;
		const report = await pc.getStats();
		const out: TransportStats = {};
		const codecs = new Map<string, string>();
		report.forEach((s: Record<string, unknown> & { type: string; id: string }) => {
			if (s.type === "codec") codecs.set(s.id, String(s.mimeType ?? ""));
		});
		report.forEach((s: Record<string, unknown> & { type: string }) => {
			if (s.type === "candidate-pair" && s.nominated && typeof s.currentRoundTripTime === "number") {
				out.rtt_s = s.currentRoundTripTime;
			} else if (s.type === "inbound-rtp" && s.kind === "audio") {
				out.jitter_s = s.jitter as number | undefined;
				const emitted = Number(s.jitterBufferEmittedCount ?? 0);
				if (emitted > 0) out.jitter_buffer_s = Number(s.jitterBufferDelay) / emitted;
				out.packets_lost = s.packetsLost as number | undefined;
				out.packets_received = s.packetsReceived as number | undefined;
				out.audio_level_in = s.audioLevel as number | undefined;
				out.codec = codecs.get(String(s.codecId)) ?? out.codec;
			} else if (s.type === "media-source" && s.kind === "audio") {
				out.audio_level_mic = s.audioLevel as number | undefined;
			} else if (s.type === "outbound-rtp" && s.kind === "audio") {
				out.packets_sent = s.packetsSent as number | undefined;
			}
		});
		return out;
	}

	/** The microphone stream, while the call has one (for level meters). */
	get microphone(): MediaStream | null {
		return this.#mic;
	}

	/** Switch to another microphone during the call, without renegotiating. */
	async switchMicrophone(deviceId: string): Promise<void> {
		const pc = this.#pc;
		const sender = pc?.getSenders().find((s) => s.track?.kind === "audio");
		if (!pc || !sender || !this.#mic) return;
		const next = await openMicrophone(deviceId);
		const track = next.getAudioTracks()[0];
		track.enabled = this.#mic.getAudioTracks()[0]?.enabled ?? true; // keep the mute state
		await sender.replaceTrack(track);
		for (const old of this.#mic.getTracks()) old.stop();
		this.#mic = next;
	}

	/** Mute or unmute the microphone without ending the call. */
	setMuted(muted: boolean): void {
		for (const track of this.#mic?.getAudioTracks() ?? []) track.enabled = !muted;
	}

	/** End the call and release the microphone. Safe to call more than once. */
	close(): void {
		this.#teardown();
		if (this.#state !== "error") this.#setState("closed");
	}

	async #addAudio(pc: RTCPeerConnection): Promise<void> {
		if (!this.options.microphone) {
			pc.addTransceiver("audio", { direction: "recvonly" });
			return;
		}
		this.#mic = await openMicrophone(this.options.deviceId);
		for (const track of this.#mic.getAudioTracks()) pc.addTrack(track, this.#mic);
	}

	#openChannel(pc: RTCPeerConnection): void {
		const channel = pc.createDataChannel("oai-events");
		this.#channel = channel;
		channel.onopen = () => this.#setState("connected");
		channel.onclose = () => {
			if (this.#state === "connected") this.close();
		};
		channel.onmessage = (e: MessageEvent<string>) => {
			const time = nowMs();
			let event: RealtimeEvent;
			try {
				event = JSON.parse(e.data) as RealtimeEvent;
			} catch {
				// Keep what arrived: nothing is dropped, even a malformed message.
				event = { type: "rt_widget.malformed_event", data: String(e.data) };
			}
			this.handlers.onEvent("server", event, time);
			if (isSessionExpired(event)) {
				this.#fail(
					"The session reached the Realtime API's 60-minute limit. Connect again to start a new session (the conversation starts fresh).",
				);
			}
		};
	}

	#fail(message: string): void {
		if (this.#state === "closed" || this.#state === "error") return;
		this.#teardown();
		this.#setState("error", message);
	}

	#teardown(): void {
		this.#channel?.close();
		this.#pc?.close();
		for (const track of this.#mic?.getTracks() ?? []) track.stop();
		this.#channel = null;
		this.#pc = null;
		this.#mic = null;
	}

	#setState(state: CallState, detail?: string): void {
		this.#state = state;
		this.handlers.onState(state, detail);
	}
}

/** Open a microphone (the default one when `deviceId` is empty), with advice on failure. */
async function openMicrophone(deviceId?: string): Promise<MediaStream> {
	try {
		return await navigator.mediaDevices.getUserMedia({ audio: deviceId ? { deviceId: { exact: deviceId } } : true });
	} catch (err) {
		const name = err instanceof DOMException ? err.name : "";
		if (name === "NotAllowedError") {
			throw new Error(
				"Microphone access was denied. Allow the microphone for this page (the icon in the address bar), then Connect again.",
			);
		}
		if (name === "OverconstrainedError" || name === "NotFoundError") {
			throw new Error(
				"The chosen microphone is not available. Pick another one in the microphone list, then Connect again.",
			);
		}
		throw new Error(`No microphone could be opened (${String(err)}). Plug one in or check the browser's settings.`);
	}
}
