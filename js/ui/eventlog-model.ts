// The rows of the event log: every event, filtered by text, with delta runs folded. No DOM.

import type { Direction, RealtimeEvent } from "../types";

export interface LoggedEvent {
	direction: Direction;
	/** Browser receive (or send) time, Unix epoch milliseconds. */
	t: number;
	event: RealtimeEvent;
	/** JSON text, made the first time a filter needs it. */
	json?: string;
}

export interface Row {
	/** Index of the row's (first) event. */
	index: number;
	/** How many events the row stands for (more than one when deltas are folded). */
	count: number;
}

export class EventLogModel {
	readonly events: LoggedEvent[] = [];
	#rows: Row[] = [];
	#filter = "";
	#fold = false;

	get rows(): readonly Row[] {
		return this.#rows;
	}

	add(direction: Direction, event: RealtimeEvent, t: number): void {
		this.events.push({ direction, t, event });
		this.#place(this.events.length - 1);
	}

	/** Forget every event (a replay going back in time starts over). */
	clear(): void {
		this.events.length = 0;
		this.#rows = [];
	}

	/** Show only events whose type or JSON contains `text` (case-insensitive); "" shows all. */
	setFilter(text: string): void {
		this.#filter = text.trim().toLowerCase();
		this.#rebuild();
	}

	/** Fold runs of the same delta event (for the same item) into one row. */
	setFold(fold: boolean): void {
		this.#fold = fold;
		this.#rebuild();
	}

	/** The event's JSON, pretty-printed, for the detail view. */
	static pretty(logged: LoggedEvent): string {
		return JSON.stringify(logged.event, null, 2);
	}

	#rebuild(): void {
		this.#rows = [];
		for (let i = 0; i < this.events.length; i++) this.#place(i);
	}

	#place(index: number): void {
		const logged = this.events[index];
		if (!this.#matches(logged)) return;
		const last = this.#rows[this.#rows.length - 1];
		if (this.#fold && last && foldable(this.events[last.index], logged)) {
			last.count += 1;
			return;
		}
		this.#rows.push({ index, count: 1 });
	}

	#matches(logged: LoggedEvent): boolean {
		if (!this.#filter) return true;
		if (logged.event.type.toLowerCase().includes(this.#filter)) return true;
		logged.json ??= JSON.stringify(logged.event).toLowerCase();
		return logged.json.includes(this.#filter);
	}
}

function foldable(first: LoggedEvent, next: LoggedEvent): boolean {
	return (
		next.event.type.endsWith(".delta") &&
		next.event.type === first.event.type &&
		next.direction === first.direction &&
		next.event.item_id === first.event.item_id
	);
}
