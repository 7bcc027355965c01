// One view of the widget: its parts in a root that adapts to narrow cells and projectors.

import type { AnyModel } from "@anywidget/types";
import type { ReplaySession } from "../replay";
import type { Session } from "../session";
import type { RealtimeModel } from "../types";
import { renderApprovals } from "./approvals";
import { renderBanner } from "./banner";
import { renderControls } from "./controls";
import { h } from "./dom";
import { renderEventLog } from "./eventlog";
import { renderMeters } from "./meters";
import { renderNotice, renderSessionNotice } from "./notice";
import { renderReplayControls } from "./replay-controls";
import { renderTranscript } from "./transcript";

/** Below this width (px) the controls stack and labels shorten. */
const COMPACT_WIDTH = 560;

/** A replay's view: its player, meters, transcript and event log, in the same layout. */
export function renderReplayView(el: HTMLElement, title: string, replay: ReplaySession): () => void {
	const root = h("div", { class: "rt-widget rt-replay", role: "region", "aria-label": "Replay of a voice session" });
	el.append(root);
	const cleanups = [
		renderReplayControls(root, title, replay),
		renderMeters(root, replay),
		renderTranscript(root, replay),
		renderEventLog(root, replay),
	];
	return () => {
		for (const cleanup of cleanups) cleanup();
		root.remove();
	};
}

export function renderView(el: HTMLElement, model: AnyModel<RealtimeModel>, session: Session): () => void {
	const root = h("div", { class: "rt-widget", role: "region", "aria-label": "Realtime voice session" });
	el.append(root);
	const cleanups = [
		renderControls(root, model, session),
		renderBanner(root, model),
		renderNotice(root, session.microphoneNotice),
		renderSessionNotice(root, model),
		renderMeters(root, session),
		renderApprovals(root, model, (callId, approved) => session.decide(callId, approved)),
		renderTranscript(root, session),
		renderEventLog(root, session),
	];
	const presenter = () => root.classList.toggle("rt-presenter", Boolean(model.get("presenter")));
	model.on("change:presenter", presenter);
	presenter();
	const resize = new ResizeObserver(([entry]) => {
		root.classList.toggle("rt-compact", entry.contentRect.width < COMPACT_WIDTH);
	});
	resize.observe(root);
	return () => {
		resize.disconnect();
		model.off("change:presenter", presenter);
		for (const cleanup of cleanups) cleanup();
		root.remove();
	};
}
