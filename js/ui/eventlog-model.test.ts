import { describe, expect, it } from "vitest";
import { EventLogModel } from "./eventlog-model";

function filled(): EventLogModel {
	const log = new EventLogModel();
	log.add("server", { type: "session.created", session: { id: "sess_1" } }, 1);
	log.add("client", { type: "response.create" }, 2);
	for (let i = 0; i < 5; i++)
		log.add("server", { type: "response.output_text.delta", item_id: "a1", delta: `w${i}` }, 3 + i);
	log.add("server", { type: "response.output_text.delta", item_id: "a2", delta: "other item" }, 9);
	log.add("server", { type: "response.done", response: { status: "completed" } }, 10);
	return log;
}

describe("EventLogModel", () => {
	it("forgets every event and row after clear, filter kept", () => {
		const log = new EventLogModel();
		log.setFilter("response");
		log.add("server", { type: "response.created" }, 1);
		log.add("server", { type: "session.created" }, 2);
		log.clear();
		expect(log.events).toHaveLength(0);
		expect(log.rows).toHaveLength(0);
		log.add("server", { type: "response.done" }, 3);
		log.add("server", { type: "session.updated" }, 4);
		expect(log.rows.map((r) => log.events[r.index].event.type)).toEqual(["response.done"]);
	});

	it("keeps every event as a row by default", () => {
		expect(filled().rows).toHaveLength(9);
	});

	it("filters by type or by text anywhere in the event, case-insensitively", () => {
		const log = filled();
		log.setFilter("RESPONSE.CREATE");
		expect(log.rows.map((r) => log.events[r.index].event.type)).toEqual(["response.create"]);
		log.setFilter("sess_1");
		expect(log.rows.map((r) => r.index)).toEqual([0]);
		log.setFilter("other item");
		expect(log.rows.map((r) => r.index)).toEqual([7]);
		log.setFilter("");
		expect(log.rows).toHaveLength(9);
	});

	it("folds runs of one delta type for one item, and keeps folding as events arrive", () => {
		const log = filled();
		log.setFold(true);
		expect(log.rows.map((r) => [r.index, r.count])).toEqual([
			[0, 1],
			[1, 1],
			[2, 5],
			[7, 1],
			[8, 1],
		]);
		log.add("server", { type: "response.output_audio_transcript.delta", item_id: "a3", delta: "x" }, 11);
		log.add("server", { type: "response.output_audio_transcript.delta", item_id: "a3", delta: "y" }, 12);
		expect(log.rows[log.rows.length - 1]).toEqual({ index: 9, count: 2 });
	});

	it("filters 50,000 events quickly enough to type into", () => {
		const log = new EventLogModel();
		for (let i = 0; i < 50_000; i++)
			log.add("server", { type: "response.output_text.delta", item_id: `a${i % 7}`, delta: `word${i}` }, i);
		log.setFilter("word49999");
		expect(log.rows).toEqual([{ index: 49_999, count: 1 }]);
	});
});
