// The wire between the browser and the kernel: batched events up, requests with replies.

import { randomId } from "./ids";
import type { Channel } from "./kernel-channel";
import type { Answer } from "./rtc/call";
import type { SentAnchor } from "./rtc/sent-audio";
import { postOffer } from "./rtc/signaling";
import type { BrowserMessage, Direction, KernelMessage, RealtimeEvent, Status, WireEvent } from "./types";

function post(channel: Channel, message: BrowserMessage): void {
	channel.send(message);
}

/** Events the kernel acts on (a tool to run, a response to follow up): they go at once. */
const URGENT = new Set(["response.function_call_arguments.done", "response.done"]);

/**
 * Sends events to the kernel with sequence numbers, batched under load.
 *
 * Every comm message costs the kernel a round of work, so past a few hundred messages a
 * second they queue up. The first event after a quiet spell goes at once, in the same task
 * (a timer would let a frame's rendering go first); later ones share one message per
 * `intervalMs`. On the loopback link messages are cheap, so each event goes at once, in the
 * task that received it: a frame being drawn cannot hold it back. The
 * page's events are numbered in its own stream, so the kernel can put them back in order
 * whichever path they took, and drop repeats.
 */
export class EventBatcher {
	/** This page's stream: its events are numbered from 0 in it. */
	readonly stream = randomId();
	#seq = 0;
	#pending: WireEvent[] = [];
	#timer: ReturnType<typeof setTimeout> | null = null;
	#lastFlush = Number.NEGATIVE_INFINITY;

	constructor(
		private readonly channel: Channel,
		private readonly intervalMs = 8,
		private readonly maxBatch = 500,
		private readonly now: () => number = () => performance.now(),
	) {}

	push(direction: Direction, event: RealtimeEvent, t: number, callId: string | null): void {
		this.#pending.push({ seq: this.#seq++, direction, t, call_id: callId, event });
		if (this.#timer !== null && this.#pending.length < this.maxBatch && !URGENT.has(event.type)) return;
		const interval = this.channel.direct ? 0 : this.intervalMs;
		const wait = this.#lastFlush + interval - this.now();
		if (wait <= 0 || this.#pending.length >= this.maxBatch || URGENT.has(event.type)) this.flush();
		else this.#timer ??= setTimeout(() => this.flush(), wait);
	}

	flush(): void {
		if (this.#timer !== null) clearTimeout(this.#timer);
		this.#timer = null;
		if (this.#pending.length === 0) return;
		const events = this.#pending;
		this.#pending = [];
		this.#lastFlush = this.now();
		post(this.channel, { kind: "events", stream: this.stream, events });
	}
}

/** Tell the kernel which call the browser joined (it may open a sideband to it). */
export function reportCall(channel: Channel, callId: string): void {
	post(channel, { kind: "call", call_id: callId });
}

/** Tell the kernel when the call's sent audio was captured (see ./rtc/sent-audio.ts). */
export function reportSentAnchor(channel: Channel, callId: string | null, anchor: SentAnchor): void {
	post(channel, { kind: "sent_anchor", call_id: callId, ms: anchor.ms, t: anchor.t });
}

/** Tell the kernel how this page's call is (it sets `status` and `error` from this). */
export function reportState(channel: Channel, status: Status | undefined, error: string): void {
	post(channel, status === undefined ? { kind: "state", error } : { kind: "state", status, error });
}

/** Tell the kernel what a person decided about a tool call waiting for approval. */
export function reportApproval(channel: Channel, callId: string, approved: boolean): void {
	post(channel, { kind: "approval", call_id: callId, approved });
}

/**
 * Ask the kernel to answer an SDP offer; rejects with the kernel's message or on timeout.
 * The kernel either relays the offer itself, or hands back a URL and a one-off ephemeral
 * key, and then the browser posts the offer.
 */
export function requestAnswer(channel: Channel, sdp: string, timeoutMs = 30_000): Promise<Answer> {
	const id = randomId();
	return new Promise<Answer>((resolve, reject) => {
		const onMessage = (msg: KernelMessage) => {
			if (msg.kind !== "answer" || msg.id !== id) return;
			done();
			if (msg.error) reject(new Error(msg.error));
			else if (msg.direct) postOffer(msg.direct.url, msg.direct.token, sdp).then(resolve, reject);
			else if (msg.sdp) resolve({ sdp: msg.sdp, callId: msg.call_id ?? null });
			else reject(new Error("The kernel returned no SDP answer."));
		};
		const timer = setTimeout(() => {
			done();
			reject(
				new Error(
					`The kernel did not answer within ${timeoutMs / 1000} s. It may be busy running a cell or stopped; wait for it to be idle, then Connect again.`,
				),
			);
		}, timeoutMs);
		const done = () => {
			clearTimeout(timer);
			channel.off("msg:custom", onMessage);
		};
		channel.on("msg:custom", onMessage);
		post(channel, { kind: "offer", id, sdp });
	});
}
