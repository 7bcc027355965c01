// Standing notices (not errors: they do not clear on connect): about this page, and what the
// kernel's session did by itself (the `notice` trait).

import type { AnyModel } from "@anywidget/types";
import type { RealtimeModel } from "../types";
import { h } from "./dom";

export function renderNotice(root: HTMLElement, text: string | null): () => void {
	if (text === null) return () => {};
	const notice = h("div", { class: "rt-notice", role: "note" }, text);
	root.append(notice);
	return () => notice.remove();
}

export function renderSessionNotice(root: HTMLElement, model: AnyModel<RealtimeModel>): () => void {
	const notice = h("div", { class: "rt-session-notice", role: "status" });
	root.append(notice);
	const update = () => {
		const text = model.get("notice") ?? "";
		notice.textContent = text;
		notice.hidden = !text;
	};
	model.on("change:notice", update);
	update();
	return () => {
		model.off("change:notice", update);
		notice.remove();
	};
}
