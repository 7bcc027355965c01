// Connect / Hang up and the status line. DOM only: actions come in as callbacks.

import type { AnyModel } from "@anywidget/types";
import type { RealtimeModel, Status } from "../types";

export interface ControlActions {
	connect(): void;
	hangup(): void;
}

const LABELS: Record<Status, string> = {
	idle: "Not connected",
	connecting: "Connecting…",
	connected: "Connected",
	closed: "Call ended",
	error: "Error",
};

export function renderControls(el: HTMLElement, model: AnyModel<RealtimeModel>, actions: ControlActions): () => void {
	const root = document.createElement("div");
	root.className = "rt-widget";
	const button = document.createElement("button");
	button.type = "button";
	button.className = "rt-connect";
	const status = document.createElement("div");
	status.className = "rt-status";
	status.setAttribute("role", "status");
	status.setAttribute("aria-live", "polite");
	root.append(button, status);
	el.append(root);

	const inCall = () => ["connecting", "connected"].includes(model.get("status"));
	const update = () => {
		const state = model.get("status");
		root.dataset.status = state;
		button.textContent = inCall() ? "Hang up" : "Connect";
		button.setAttribute("aria-label", inCall() ? "Hang up the call" : "Connect to the realtime model");
		const error = model.get("error");
		const provider = model.get("provider_name");
		status.textContent = [LABELS[state] ?? state, provider && `(${provider})`, error].filter(Boolean).join(" ");
	};
	button.addEventListener("click", () => (inCall() ? actions.hangup() : actions.connect()));
	model.on("change:status", update);
	model.on("change:error", update);
	update();
	return () => {
		model.off("change:status", update);
		model.off("change:error", update);
		root.remove();
	};
}
