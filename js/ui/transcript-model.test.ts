import { describe, expect, it } from "vitest";
import type { RealtimeEvent } from "../types";
import { TranscriptModel } from "./transcript-model";

const added = (id: string, previous: string | null, item: Record<string, unknown>): RealtimeEvent => ({
	type: "conversation.item.added",
	previous_item_id: previous,
	item: { id, ...item },
});
const user = (id: string, previous: string | null, text: string) =>
	added(id, previous, { type: "message", role: "user", content: [{ type: "input_text", text }] });
const assistant = (id: string, previous: string | null) =>
	added(id, previous, { type: "message", role: "assistant", status: "in_progress", content: [] });
const delta = (id: string, text: string): RealtimeEvent => ({
	type: "response.output_audio_transcript.delta",
	item_id: id,
	delta: text,
});

function texts(model: TranscriptModel): string[] {
	return model.entries().map((e) => `${e.speaker}:${e.text}${e.interrupted ? " [interrupted]" : ""}`);
}

describe("TranscriptModel", () => {
	it("groups GPT-Live fragments into one line per run of a speaker", () => {
		const model = new TranscriptModel();
		const fragment = (side: "input" | "output", text: string): RealtimeEvent => ({
			type: `session.${side}_transcript.delta`,
			delta: text,
		});
		for (const e of [
			fragment("input", "hello "),
			fragment("input", "there"),
			fragment("output", "Hi! "),
			fragment("output", "How can I help?"),
			fragment("input", "thanks"),
		])
			model.apply(e);
		expect(texts(model)).toEqual(["user:hello there", "assistant:Hi! How can I help?", "user:thanks"]);
	});

	it("starts over after clear, as a replay going back does", () => {
		const model = new TranscriptModel();
		model.apply(user("u1", null, "first"));
		model.apply(assistant("a1", "u1"));
		model.apply(delta("a1", "Answer."));
		model.clear();
		expect(texts(model)).toEqual([]);
		model.apply(user("u1", null, "first"));
		model.apply(assistant("a1", "u1"));
		expect(texts(model)).toEqual(["user:first", "assistant:"]);
	});

	it("orders items by previous_item_id, not by arrival", () => {
		const model = new TranscriptModel();
		model.apply(assistant("a2", "u2"));
		model.apply(delta("a2", "Second answer."));
		model.apply(user("u2", "a1", "second"));
		model.apply(user("u1", null, "first"));
		model.apply(assistant("a1", "u1"));
		model.apply(delta("a1", "First "));
		model.apply(delta("a1", "answer."));
		expect(texts(model)).toEqual(["user:first", "assistant:First answer.", "user:second", "assistant:Second answer."]);
	});

	it("keeps an item whose predecessor is unknown at the end until it arrives", () => {
		const model = new TranscriptModel();
		model.apply(user("u1", null, "hello"));
		model.apply(delta("a9", "Streaming before its item was announced"));
		model.apply(user("u3", "x_missing", "later"));
		expect(texts(model)).toEqual(["user:hello", "assistant:Streaming before its item was announced", "user:later"]);
		model.apply(assistant("a9", "u1"));
		model.apply(
			added("x_missing", "a9", { type: "message", role: "user", content: [{ type: "input_text", text: "mid" }] }),
		);
		expect(texts(model)).toEqual([
			"user:hello",
			"assistant:Streaming before its item was announced",
			"user:mid",
			"user:later",
		]);
	});

	it("streams user transcription and marks interrupted replies", () => {
		const model = new TranscriptModel();
		model.apply(
			added("u1", null, { type: "message", role: "user", content: [{ type: "input_audio", transcript: null }] }),
		);
		model.apply({ type: "conversation.item.input_audio_transcription.delta", item_id: "u1", delta: "what is" });
		model.apply({
			type: "conversation.item.input_audio_transcription.completed",
			item_id: "u1",
			transcript: "what is the weather",
		});
		model.apply(assistant("a1", "u1"));
		model.apply(delta("a1", "It is"));
		expect(model.entries()[1].live).toBe(true);
		model.apply({ type: "response.done", response: { status: "cancelled", output: [{ id: "a1" }] } });
		expect(texts(model)).toEqual(["user:what is the weather", "assistant:It is [interrupted]"]);
		expect(model.entries()[1].live).toBe(false);
	});

	it("shows tool calls with their arguments and output", () => {
		const model = new TranscriptModel();
		model.apply(user("u1", null, "call get weather"));
		model.apply(added("f1", "u1", { type: "function_call", name: "get_weather", call_id: "c1", arguments: "" }));
		model.apply({
			type: "response.function_call_arguments.done",
			item_id: "f1",
			call_id: "c1",
			arguments: '{"city":"Oslo"}',
		});
		model.apply({
			type: "conversation.item.done",
			previous_item_id: "u1",
			item: {
				id: "f1",
				type: "function_call",
				name: "get_weather",
				call_id: "c1",
				arguments: '{"city":"Oslo"}',
				status: "completed",
			},
		});
		model.apply(added("o1", "f1", { type: "function_call_output", call_id: "c1", output: '{"sky":"clear"}' }));
		const [, call] = model.entries();
		expect(call).toMatchObject({
			speaker: "tool",
			name: "get_weather",
			text: '{"city":"Oslo"}',
			output: '{"sky":"clear"}',
		});
		expect(model.entries()).toHaveLength(2);
	});

	it("reads the beta event names too", () => {
		const model = new TranscriptModel();
		model.apply({
			type: "conversation.item.created",
			previous_item_id: null,
			item: { id: "a1", type: "message", role: "assistant", content: [] },
		});
		model.apply({ type: "response.audio_transcript.delta", item_id: "a1", delta: "Hi" });
		expect(texts(model)).toEqual(["assistant:Hi"]);
	});
});
