// A standing notice about this page (not an error: it does not clear on connect).

import { h } from "./dom";

export function renderNotice(root: HTMLElement, text: string | null): () => void {
	if (text === null) return () => {};
	const notice = h("div", { class: "rt-notice", role: "note" }, text);
	root.append(notice);
	return () => notice.remove();
}
