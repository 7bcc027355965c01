// Errors, in words that say what to do; cleared by the next successful connect.

import type { AnyModel } from "@anywidget/types";
import type { RealtimeModel } from "../types";
import { h } from "./dom";

export function renderBanner(root: HTMLElement, model: AnyModel<RealtimeModel>): () => void {
	const message = h("span", { class: "rt-banner-text" });
	const close = h("button", { type: "button", class: "rt-banner-close", "aria-label": "Dismiss the error" }, "×");
	const banner = h("div", { class: "rt-banner", role: "alert" }, message, close);
	root.append(banner);
	const update = () => {
		const error = model.get("error");
		message.textContent = error;
		banner.hidden = !error;
	};
	close.addEventListener("click", () => {
		banner.hidden = true;
	});
	model.on("change:error", update);
	update();
	return () => {
		model.off("change:error", update);
		banner.remove();
	};
}
