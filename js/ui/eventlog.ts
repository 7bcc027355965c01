// The event log: a virtualized list (only the rows in view exist in the DOM, so 50,000
// events scroll smoothly), a filter, delta folding, and the selected event's JSON.

import { h, perFrame } from "./dom";
import { EventLogModel } from "./eventlog-model";
import type { Shown } from "./shown";

const ROW_HEIGHT = 22; // px, as in widget.css (.rt-log-row)
const OVERSCAN = 10;

export function renderEventLog(root: HTMLElement, session: Shown): () => void {
	const log = session.log;
	const filter = h("input", {
		type: "search",
		class: "rt-log-filter",
		placeholder: "Filter by type or text",
		"aria-label": "Filter events",
	});
	const fold = h("input", { type: "checkbox", class: "rt-log-fold" });
	const count = h("span", { class: "rt-log-count", "aria-live": "off" });
	const spacer = h("div", { class: "rt-log-spacer" });
	const viewport = h(
		"div",
		{ class: "rt-log-rows", role: "listbox", tabindex: 0, "aria-label": "Events, newest last" },
		spacer,
	);
	const detail = h("pre", { class: "rt-log-detail", "aria-label": "Selected event", tabindex: 0 });
	const panel = h(
		"details",
		{ class: "rt-log" },
		h("summary", {}, "Events ", count),
		h("div", { class: "rt-log-tools" }, filter, h("label", {}, fold, " Fold deltas")),
		viewport,
		detail,
	);
	root.append(panel);

	let selected: number | null = null; // a row position
	let follow = true;
	const draw = perFrame(() => {
		const rows = log.rows;
		count.textContent =
			rows.length === log.events.length ? `(${rows.length})` : `(${rows.length} of ${log.events.length})`;
		if (!panel.open) return;
		spacer.style.height = `${rows.length * ROW_HEIGHT}px`;
		if (follow) viewport.scrollTop = viewport.scrollHeight;
		const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
		const last = Math.min(rows.length, Math.ceil((viewport.scrollTop + viewport.clientHeight) / ROW_HEIGHT) + OVERSCAN);
		const visible: HTMLElement[] = [];
		for (let position = first; position < last; position++) visible.push(row(position));
		spacer.replaceChildren(...visible);
		const chosen = selected === null ? undefined : rows[selected];
		detail.hidden = chosen === undefined;
		if (chosen) detail.textContent = EventLogModel.pretty(log.events[chosen.index]);
	});

	const row = (position: number): HTMLElement => {
		const { index, count: n } = log.rows[position];
		const logged = log.events[index];
		const time = new Date(logged.t).toISOString().slice(11, 23);
		const el = h(
			"div",
			{
				class: `rt-log-row rt-${logged.direction}`,
				role: "option",
				"aria-selected": String(position === selected),
				"data-position": position,
			},
			h(
				"span",
				{ class: "rt-log-dir", "aria-label": logged.direction === "server" ? "from the server" : "sent" },
				logged.direction === "server" ? "↓" : "↑",
			),
			h("span", { class: "rt-log-time" }, time),
			h("span", { class: "rt-log-type" }, logged.event.type),
			n > 1 && h("span", { class: "rt-log-fold-count" }, `×${n}`),
		);
		el.style.top = `${position * ROW_HEIGHT}px`;
		return el;
	};

	const select = (position: number | null) => {
		selected = position === null ? null : Math.max(0, Math.min(log.rows.length - 1, position));
		if (selected !== null) {
			const top = selected * ROW_HEIGHT;
			if (top < viewport.scrollTop) viewport.scrollTop = top;
			else if (top + ROW_HEIGHT > viewport.scrollTop + viewport.clientHeight)
				viewport.scrollTop = top + ROW_HEIGHT - viewport.clientHeight;
		}
		follow = false;
		const row = selected === null ? undefined : log.rows[selected];
		if (row && session.jumpTo) session.jumpTo(log.events[row.index].t); // a replay's playhead goes there
		draw();
	};

	viewport.addEventListener("scroll", () => {
		follow = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - ROW_HEIGHT;
		draw();
	});
	viewport.addEventListener("click", (e) => {
		const target = (e.target as HTMLElement).closest<HTMLElement>(".rt-log-row");
		if (target) select(Number(target.dataset.position));
	});
	viewport.addEventListener("keydown", (e) => {
		const steps: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10 };
		if (e.key in steps) select((selected ?? log.rows.length - 1) + steps[e.key]);
		else if (e.key === "Home") select(0);
		else if (e.key === "End") {
			selected = null;
			follow = true;
			draw();
		} else if (e.key === "Escape") select(null);
		else return;
		e.preventDefault();
		e.stopPropagation();
	});
	filter.addEventListener("input", () => {
		log.setFilter(filter.value);
		selected = null;
		draw();
	});
	filter.addEventListener("keydown", (e) => e.stopPropagation()); // typing is not a notebook shortcut
	fold.addEventListener("change", () => {
		log.setFold(fold.checked);
		selected = null;
		draw();
	});
	panel.addEventListener("toggle", () => draw());
	// Off-screen cells may have no layout (JupyterLab's content-visibility): draw when sized.
	const resize = new ResizeObserver(() => draw());
	resize.observe(viewport);
	const unsubscribe = session.subscribe(draw);
	draw();
	return () => {
		resize.disconnect();
		unsubscribe();
		draw.cancel();
		panel.remove();
	};
}
