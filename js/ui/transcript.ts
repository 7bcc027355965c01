// The live transcript: both sides in conversation order, tool calls, interrupted replies.

import { h, perFrame } from "./dom";
import type { Shown } from "./shown";
import type { Entry } from "./transcript-model";

const WHO: Record<Entry["speaker"], string> = { user: "You", assistant: "Model", tool: "Tool" };

export function renderTranscript(root: HTMLElement, session: Shown): () => void {
	const list = h("ol", { class: "rt-transcript", "aria-label": "Transcript", "aria-live": "polite", tabindex: 0 });
	root.append(list);
	let drawn = -1;
	let stick = true; // follow the conversation unless scrolled up (read on scroll, not per frame)
	list.addEventListener("scroll", () => {
		stick = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
	});
	// Each line's element, kept while its entry is unchanged: a long conversation redraws
	// only the line that is streaming.
	let lines = new Map<string, { el: HTMLElement; drawn: string }>();
	const draw = perFrame(() => {
		if (drawn === session.transcriptVersion) return; // most events do not touch the transcript
		drawn = session.transcriptVersion;
		const entries = session.transcript.entries();
		const next = new Map<string, { el: HTMLElement; drawn: string }>();
		for (const entry of entries) {
			const state = JSON.stringify(entry);
			const old = lines.get(entry.id);
			const kept = old?.drawn === state ? old : { el: line(entry), drawn: state };
			if (old && old !== kept) old.el.replaceWith(kept.el);
			next.set(entry.id, kept);
		}
		lines = next;
		[...next.values()].forEach(({ el }, i) => {
			if (list.children[i] !== el) list.insertBefore(el, list.children[i] ?? null);
		});
		while (list.children.length > next.size) list.lastElementChild?.remove();
		list.hidden = entries.length === 0;
		if (stick) list.scrollTop = list.scrollHeight;
	});
	const unsubscribe = session.subscribe(draw);
	draw();
	return () => {
		unsubscribe();
		draw.cancel();
		list.remove();
	};
}

function line(entry: Entry): HTMLElement {
	const classes = ["rt-line", `rt-${entry.speaker}`, entry.live && "rt-live", entry.interrupted && "rt-interrupted"];
	const body =
		entry.speaker === "tool"
			? h(
					"span",
					{ class: "rt-text" },
					h("code", {}, `${entry.name}(${entry.text})`),
					entry.output !== undefined && ` → ${entry.output}`,
				)
			: h("span", { class: "rt-text" }, entry.text || "…");
	return h(
		"li",
		{ class: classes.filter(Boolean).join(" "), "data-item-id": entry.id },
		h("span", { class: "rt-who" }, WHO[entry.speaker]),
		body,
		entry.interrupted && h("span", { class: "rt-tag" }, "interrupted"),
	);
}
