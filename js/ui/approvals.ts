// Tool calls that wait for a person: name, arguments, Approve and Deny. DOM only.

import type { AnyModel } from "@anywidget/types";
import type { PendingApproval, RealtimeModel } from "../types";
import { h } from "./dom";

export function renderApprovals(
	el: HTMLElement,
	model: AnyModel<RealtimeModel>,
	decide: (callId: string, approved: boolean) => void,
): () => void {
	const panel = h("section", { class: "rt-approvals", "aria-label": "Tool calls waiting for approval" });
	el.append(panel);
	const update = () => {
		const pending: PendingApproval[] = model.get("_approvals") ?? [];
		panel.hidden = pending.length === 0;
		panel.replaceChildren(...pending.map((call) => card(call, decide)));
	};
	model.on("change:_approvals", update);
	update();
	return () => {
		model.off("change:_approvals", update);
		panel.remove();
	};
}

function card(call: PendingApproval, decide: (callId: string, approved: boolean) => void): HTMLElement {
	const approve = h("button", { type: "button", class: "rt-approve" }, "Approve");
	const deny = h("button", { type: "button", class: "rt-deny" }, "Deny");
	approve.setAttribute("aria-label", `Approve the call of ${call.name}`);
	deny.setAttribute("aria-label", `Deny the call of ${call.name}`);
	const settle = (approved: boolean) => {
		approve.disabled = deny.disabled = true; // one answer per call, even on a double click
		decide(call.call_id, approved);
	};
	approve.addEventListener("click", () => settle(true));
	deny.addEventListener("click", () => settle(false));
	return h(
		"div",
		{ class: "rt-approval", role: "group", "aria-label": `The model wants to call ${call.name}` },
		h("div", { class: "rt-approval-title" }, "The model wants to call ", h("code", {}, call.name)),
		h("pre", { class: "rt-approval-args" }, prettyJson(call.arguments)),
		h("div", { class: "rt-approval-buttons" }, approve, deny),
	);
}

function prettyJson(text: string): string {
	try {
		return JSON.stringify(JSON.parse(text), null, 2);
	} catch {
		return text;
	}
}
