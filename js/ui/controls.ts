// The call's controls: Connect / Hang up, status and duration, microphone, mute, push-to-talk,
// volume, Interrupt and presenter mode. DOM only: commands go to the session.

import type { AnyModel } from "@anywidget/types";
import type { Session } from "../session";
import type { RealtimeModel, Status } from "../types";
import { clock, h, perFrame, setText } from "./dom";

const LABELS: Record<Status, string> = {
	idle: "Not connected",
	connecting: "Connecting…",
	connected: "Connected",
	closed: "Call ended",
	error: "Error",
};

export function renderControls(root: HTMLElement, model: AnyModel<RealtimeModel>, session: Session): () => void {
	const connect = h("button", { type: "button", class: "rt-connect rt-primary" });
	const status = h("span", { class: "rt-status", role: "status", "aria-live": "polite" });
	const duration = h("span", { class: "rt-duration", "aria-label": "Call duration" });
	const rec = h(
		"span",
		{ class: "rt-rec", role: "status", title: "Both sides of this call are being recorded" },
		"REC",
	);
	const microphones = h("select", { class: "rt-microphone", "aria-label": "Microphone" });
	const mute = h("button", { type: "button", class: "rt-mute", "aria-pressed": "false" }, "Mute");
	const talk = h(
		"button",
		{ type: "button", class: "rt-talk", "aria-label": "Hold to talk (or hold the space bar)", "aria-pressed": "false" },
		"Hold to talk",
	);
	const volume = h("input", {
		type: "range",
		class: "rt-volume",
		min: 0,
		max: 1,
		step: 0.05,
		"aria-label": "Model voice volume",
	});
	const interrupt = h(
		"button",
		{ type: "button", class: "rt-interrupt", "aria-label": "Interrupt the model" },
		"Interrupt",
	);
	const presenter = h("button", { type: "button", class: "rt-presenter-toggle", "aria-pressed": "false" }, "Presenter");
	const bar = h(
		"div",
		{ class: "rt-controls", role: "toolbar", "aria-label": "Call controls" },
		connect,
		h("span", { class: "rt-state" }, h("span", { class: "rt-dot", "aria-hidden": "true" }), status, duration, rec),
		microphones,
		mute,
		talk,
		h("label", { class: "rt-volume-label" }, "Volume ", volume),
		interrupt,
		presenter,
	);
	root.append(bar);

	const inCall = () => ["connecting", "connected"].includes(session.status);
	const update = () => {
		const state = session.status;
		root.dataset.status = state;
		setText(connect, inCall() ? "Hang up" : "Connect");
		connect.setAttribute("aria-label", inCall() ? "Hang up the call" : "Connect to the realtime model");
		const provider = model.get("provider_name");
		const where = [provider, model.get("api") === "live" && "GPT-Live"].filter(Boolean).join(" · ");
		setText(status, [LABELS[state] ?? state, where && `(${where})`].filter(Boolean).join(" "));
		const connected = state === "connected";
		const muted = model.get("muted");
		setText(mute, muted ? "Unmute" : "Mute");
		mute.setAttribute("aria-pressed", String(muted));
		mute.setAttribute("aria-label", muted ? "Unmute the microphone" : "Mute the microphone");
		talk.disabled = interrupt.disabled = !connected;
		talk.setAttribute("aria-pressed", String(session.talking));
		root.classList.toggle("rt-talking", session.talking);
		const level = String(model.get("volume") ?? 1);
		if (volume.value !== level) volume.value = level;
		presenter.setAttribute("aria-pressed", String(Boolean(model.get("presenter"))));
		rec.hidden = !session.recording;
		tick();
	};
	const tick = () => {
		const since = session.connectedAt;
		setText(duration, since === null ? "" : clock((performance.now() - since) / 1000));
	};
	const timer = setInterval(tick, 1000);

	const fillMicrophones = async () => {
		let devices: MediaDeviceInfo[] = [];
		try {
			devices = (await navigator.mediaDevices?.enumerateDevices()) ?? [];
		} catch {
			// no device list (an insecure context): the default microphone is used
		}
		const inputs = devices.filter((d) => d.kind === "audioinput" && d.deviceId && d.deviceId !== "default");
		const chosen = session.microphoneId;
		microphones.replaceChildren(
			h("option", { value: "" }, "Default microphone"),
			...inputs.map((d, i) => h("option", { value: d.deviceId }, d.label || `Microphone ${i + 1}`)),
		);
		microphones.value = inputs.some((d) => d.deviceId === chosen) ? chosen : "";
	};

	const setTrait = <K extends keyof RealtimeModel>(name: K, value: RealtimeModel[K]) => {
		model.set(name, value);
		model.save_changes();
	};
	const hold = (down: boolean) => () => session.pushToTalk(down);
	connect.addEventListener("click", () => (inCall() ? session.hangup() : void session.connect()));
	mute.addEventListener("click", () => setTrait("muted", !model.get("muted")));
	talk.addEventListener("pointerdown", hold(true));
	talk.addEventListener("pointerup", hold(false));
	talk.addEventListener("pointerleave", hold(false));
	volume.addEventListener("input", () => setTrait("volume", Number(volume.value)));
	interrupt.addEventListener("click", () => session.interrupt());
	presenter.addEventListener("click", () => setTrait("presenter", !model.get("presenter")));
	microphones.addEventListener("change", () => void session.useMicrophone(microphones.value));
	microphones.addEventListener("focus", () => void fillMicrophones()); // labels appear once access is granted

	// Space bar: push-to-talk while the widget has focus (but not while typing in a field).
	const typing = (e: KeyboardEvent) => e.target instanceof HTMLInputElement && e.target.type !== "range";
	const onKey = (down: boolean) => (e: KeyboardEvent) => {
		if (e.code !== "Space" || typing(e) || e.target instanceof HTMLSelectElement) return;
		if (e.target instanceof HTMLButtonElement && e.target !== talk) return; // Space presses buttons
		e.preventDefault();
		e.stopPropagation(); // keep JupyterLab's own shortcuts out of it
		if (!e.repeat) session.pushToTalk(down);
	};
	const keydown = onKey(true);
	const keyup = onKey(false);
	root.addEventListener("keydown", keydown);
	root.addEventListener("keyup", keyup);

	const events = ["change:status", "change:error", "change:muted", "change:volume", "change:presenter"] as const;
	for (const name of events) model.on(name, update);
	const redraw = perFrame(update); // events can come by the thousand: draw once a frame
	const unsubscribe = session.subscribe(redraw);
	update();
	void fillMicrophones();
	return () => {
		clearInterval(timer);
		for (const name of events) model.off(name, update);
		unsubscribe();
		redraw.cancel();
		root.removeEventListener("keydown", keydown);
		root.removeEventListener("keyup", keyup);
		bar.remove();
	};
}
