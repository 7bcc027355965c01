// Both sides of the conversation, in conversation order, built from events. No DOM.
//
// Order comes from `previous_item_id` (null: the start of a conversation), never from
// arrival: an item that names a predecessor not seen yet waits at the end until it appears.

import type { RealtimeEvent } from "../types";

export type Speaker = "user" | "assistant" | "tool";

export interface Entry {
	id: string;
	speaker: Speaker;
	/** What was said or typed; for tools, the call and its result. */
	text: string;
	/** Tool name, for tool calls. */
	name?: string;
	/** The output the tool returned (for a call whose output item has arrived). */
	output?: string;
	/** Still streaming. */
	live: boolean;
	/** A reply cut short (cancelled or truncated). */
	interrupted: boolean;
}

type Item = Record<string, unknown> & { id?: string; type?: string; role?: string };

interface Node extends Entry {
	previous: string | null | undefined; // undefined: not known yet
	callId?: string;
}

// Beta names of the events this model reads, mapped to their GA names.
const GA_NAMES: Record<string, string> = {
	"conversation.item.created": "conversation.item.added",
	"response.audio_transcript.delta": "response.output_audio_transcript.delta",
	"response.audio_transcript.done": "response.output_audio_transcript.done",
	"response.text.delta": "response.output_text.delta",
	"response.text.done": "response.output_text.done",
};

export class TranscriptModel {
	#nodes = new Map<string, Node>();
	#arrival: string[] = [];
	#outputs = new Map<string, string>(); // call_id -> output, for outputs that come first
	#order: Entry[] | null = null;
	#live: Node | null = null; // a GPT-Live session's current line

	/** Take one event into account; returns whether the transcript changed. */
	apply(raw: RealtimeEvent): boolean {
		const type = GA_NAMES[raw.type] ?? raw.type;
		const e = raw as Record<string, unknown>;
		switch (type) {
			case "conversation.item.added":
			case "conversation.item.done":
				return this.#item(e.item as Item, e.previous_item_id as string | null | undefined);
			case "response.output_audio_transcript.delta":
			case "response.output_text.delta":
			case "conversation.item.input_audio_transcription.delta":
				return this.#append(
					String(e.item_id),
					String(e.delta ?? ""),
					type.startsWith("conversation") ? "user" : "assistant",
				);
			case "response.output_audio_transcript.done":
				return this.#final(String(e.item_id), e.transcript, "assistant");
			case "response.output_text.done":
				return this.#final(String(e.item_id), e.text, "assistant");
			case "conversation.item.input_audio_transcription.completed":
				return this.#final(String(e.item_id), e.transcript, "user");
			case "session.input_transcript.delta":
				return this.#fragment("user", String(e.delta ?? ""));
			case "session.output_transcript.delta":
				return this.#fragment("assistant", String(e.delta ?? ""));
			case "conversation.item.truncated":
				return this.#interrupt([String(e.item_id)]);
			case "response.done": {
				const response = (e.response ?? {}) as { status?: string; output?: Item[] };
				const ids = (response.output ?? []).map((item) => String(item.id));
				for (const id of ids) {
					const node = this.#nodes.get(id);
					if (node) node.live = false;
				}
				if (response.status === "cancelled") this.#interrupt(ids);
				this.#order = null;
				return ids.length > 0;
			}
			default:
				return false;
		}
	}

	/** Forget everything (a replay going back in time starts over). */
	clear(): void {
		this.#nodes.clear();
		this.#arrival = [];
		this.#outputs.clear();
		this.#order = null;
		this.#live = null;
	}

	/** The entries in conversation order. */
	entries(): Entry[] {
		if (this.#order) return this.#order;
		const children = new Map<string | null, string[]>();
		const orphans: string[] = [];
		for (const id of this.#arrival) {
			const previous = this.#nodes.get(id)?.previous;
			if (previous === undefined || (previous !== null && !this.#nodes.has(previous))) orphans.push(id);
			else children.set(previous, [...(children.get(previous) ?? []), id]);
		}
		const order: Entry[] = [];
		const visit = (id: string) => {
			const node = this.#nodes.get(id);
			if (!node) return;
			order.push(node);
			for (const child of children.get(id) ?? []) visit(child);
		};
		for (const root of [...(children.get(null) ?? []), ...orphans]) visit(root);
		this.#order = order;
		return order;
	}

	#node(id: string, speaker: Speaker): Node {
		let node = this.#nodes.get(id);
		if (!node) {
			node = { id, speaker, text: "", live: true, interrupted: false, previous: undefined };
			this.#nodes.set(id, node);
			this.#arrival.push(id);
		}
		this.#order = null;
		return node;
	}

	#item(item: Item | undefined, previous: string | null | undefined): boolean {
		if (!item?.id) return false;
		if (item.type === "function_call_output") {
			const callId = String(item.call_id);
			const output = String(item.output ?? "");
			this.#outputs.set(callId, output);
			for (const node of this.#nodes.values()) if (node.callId === callId) node.output = output;
			this.#order = null;
			return true;
		}
		const speaker: Speaker = item.type === "function_call" ? "tool" : item.role === "user" ? "user" : "assistant";
		if (item.type !== "message" && item.type !== "function_call") return false;
		const node = this.#node(item.id, speaker);
		if (previous !== undefined) node.previous = previous;
		if (item.type === "function_call") {
			node.name = String(item.name ?? "");
			node.callId = String(item.call_id ?? "");
			node.text = String(item.arguments ?? "") || node.text;
			node.output = this.#outputs.get(node.callId) ?? node.output;
		} else {
			const text = contentText(item);
			if (text) node.text = text;
		}
		if (item.status === "completed" || item.status === "incomplete") node.live = false;
		if (item.status === "incomplete") node.interrupted = true;
		return true;
	}

	#append(id: string, delta: string, speaker: Speaker): boolean {
		const node = this.#node(id, speaker);
		node.text += delta;
		return delta.length > 0;
	}

	/**
	 * A GPT-Live transcript fragment: it continues its speaker's line, or starts a new line
	 * after the other speaker's (Live has no items: its turns are the runs of one speaker).
	 */
	#fragment(speaker: Speaker, delta: string): boolean {
		const last = this.#live;
		if (last?.speaker !== speaker) {
			if (last) last.live = false;
			const node = this.#node(`live-${this.#arrival.length}`, speaker);
			node.previous = last?.id ?? null;
			this.#live = node;
		}
		return this.#append((this.#live as Node).id, delta, speaker);
	}

	#final(id: string, text: unknown, speaker: Speaker): boolean {
		const node = this.#node(id, speaker);
		if (typeof text === "string") node.text = text;
		if (speaker === "user") node.live = false;
		return true;
	}

	#interrupt(ids: string[]): boolean {
		let changed = false;
		for (const id of ids) {
			const node = this.#nodes.get(id);
			if (node && node.speaker === "assistant") {
				node.interrupted = true;
				node.live = false;
				changed = true;
			}
		}
		this.#order = null;
		return changed;
	}
}

function contentText(item: Item): string {
	const parts = (item.content ?? []) as { text?: string; transcript?: string | null }[];
	return parts
		.map((part) => part.text ?? part.transcript ?? "")
		.filter(Boolean)
		.join(" ");
}
