// Shapes shared by the front end. `RealtimeModel` mirrors the synced traits of
// rt_widget/_widget.py:Realtime; keep the two in step.

import type { TransportStats } from "./rtc/call";

export type Status = "idle" | "connecting" | "connected" | "closed" | "error";

export interface RealtimeModel {
	status: Status;
	error: string;
	call_id: string;
	provider_name: string;
	muted: boolean;
	/** Output volume, 0 to 1. */
	volume: number;
	/** Large captions for a projector. */
	presenter: boolean;
	/** Record both sides of each call and send the audio to the kernel (set by Realtime(record=True)). */
	record: boolean;
	/** Which API the session speaks ("live": GPT-Live); shown beside the status. */
	api: "realtime" | "live";
	_widget_id: string;
	_approvals: PendingApproval[];
	/** What the kernel's session did by itself (a call renewed); empty when nothing. */
	notice: string;
	// The conversation as it goes, throttled by the kernel (4 updates a second at most).
	/** How many events the kernel has logged. */
	event_count: number;
	/** The id of the response in progress; empty when none. */
	active_response: string;
	/** The session's running cost in USD; null when the model has no known price. */
	cost_usd: number | null;
	/** The latest message: its role and the last 500 characters of its text. */
	caption: Caption;
	/** Set in marimo: answer each change of event_count by writing _echoed, so cells rerun. */
	_echo: boolean;
	/** The last event_count the page echoed (written by the page only). */
	_echoed: number;
}

/** The synced traits of rt_widget/replay.py:Replay (a saved session played back). */
export interface ReplayModel {
	_widget_id: string;
	/** "replay": the front end draws a player instead of a call. */
	mode: "replay";
	/** What is replayed (the recording's folder, or a description). */
	title: string;
}

/** The recording, sent once when the page asks (`{kind: "load"}`): its buffers are the
 * microphone's and the model's audio as FLAC, both starting at `origin`. */
export interface ReplayData {
	kind: "replay";
	events: WireEvent[];
	/** Epoch ms of both tracks' first sample. */
	origin: number;
	/** Seconds of audio. */
	duration: number;
	/** Set instead of the rest when the recording cannot be sent. */
	error?: string;
}

/** The latest message as the kernel summarises it (see Realtime.caption). */
export interface Caption {
	/** "user", "assistant" (or "system"); empty before the first message. */
	role: string;
	text: string;
}

/** A tool call waiting for Approve or Deny (see rt_widget/dispatch.py). */
export interface PendingApproval {
	call_id: string;
	name: string;
	/** The model's arguments, a JSON string. */
	arguments: string;
}

/** One Realtime API event as it travels on the data channel. */
export type RealtimeEvent = { type: string } & Record<string, unknown>;

export type Direction = "server" | "client";

/** An event on its way to the kernel (see Realtime._on_events). */
export interface WireEvent {
	seq: number;
	direction: Direction;
	/** Browser receive (or send) time, Unix epoch milliseconds. */
	t: number;
	call_id: string | null;
	event: RealtimeEvent;
}

/** Messages from the kernel (Realtime.send in Python). */
export type KernelMessage =
	| {
			kind: "answer";
			id: string;
			sdp?: string;
			call_id?: string | null;
			error?: string;
			/** Post the offer here yourself, with this one-off ephemeral key. */
			direct?: { url: string; token: string };
	  }
	| { kind: "connect" }
	| { kind: "hangup" }
	| { kind: "send"; event: RealtimeEvent };

// The loopback link's own messages (see kernel-channel.ts and rt_widget/loopback.py).

/** Over the comm: where to join the link, and the token to join with (null: no link). */
export type LinkOffer = { kind: "link"; id: string; url: string | null; token?: string };

/** Over the link: joined; or the kernel has every event up to `seq`. */
export type LinkControl = { kind: "ready" } | { kind: "ack"; seq: number };

/**
 * A chunk of a call's recording. It travels with a binary payload: the microphone's `samples`
 * 16-bit little-endian PCM samples, then the model's as many (see js/rtc/recorder.ts).
 */
export type ModelTiming = "received" | "played";

export interface AudioHeader {
	kind: "audio";
	/** One recording of one call: its chunks' indices count from 0. */
	segment: string;
	/** The chunk's first sample, counted from the recording's start. */
	index: number;
	/** When that sample entered the page's audio graph, Unix epoch milliseconds. */
	t: number;
	rate: number;
	samples: number;
	/** The model's voice as it arrived ("received"), or as played after the jitter buffer (a browser that cannot copy its frames). */
	model_track: ModelTiming;
}

/** Messages to the kernel (Realtime._on_message in Python). */
export type BrowserMessage =
	/** A view of the widget was drawn (so the kernel knows Connect has somewhere to run). */
	| { kind: "view" }
	| { kind: "link"; id: string }
	| { kind: "offer"; id: string; sdp: string }
	/** `stream` is the page's own: each page numbers its events from 0. */
	| { kind: "events"; stream: string; events: WireEvent[] }
	| { kind: "call"; call_id: string }
	/** This page's call changed state (no `status`: only an error to show). */
	| { kind: "state"; status?: Status; error: string }
	| { kind: "approval"; call_id: string; approved: boolean }
	| { kind: "stats"; call_id: string | null; t: number; stats: TransportStats }
	/** `ms` of the call's sent audio (the service's input buffer time) were captured at `t` (epoch ms). */
	| { kind: "sent_anchor"; call_id: string | null; ms: number; t: number };
