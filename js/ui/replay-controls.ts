// A replay's controls: play / pause, the playhead (scrub), its time, and the speed. DOM only.

import { type ReplaySession, SPEEDS } from "../replay";
import { clock, h, perFrame, setText } from "./dom";

export function renderReplayControls(root: HTMLElement, title: string, replay: ReplaySession): () => void {
	const play = h("button", { type: "button", class: "rt-replay-play rt-primary" }, "Play");
	const seek = h("input", {
		type: "range",
		class: "rt-replay-seek",
		min: 0,
		max: 0,
		step: 0.01,
		value: 0,
		"aria-label": "Playhead",
	});
	const time = h("span", { class: "rt-replay-time", "aria-live": "off" });
	const speed = h(
		"select",
		{ class: "rt-replay-speed", "aria-label": "Speed" },
		...SPEEDS.map((rate) => h("option", { value: rate }, `${rate}×`)),
	);
	const status = h("span", { class: "rt-status", role: "status" });
	const bar = h(
		"div",
		{ class: "rt-controls", role: "toolbar", "aria-label": "Replay controls" },
		play,
		seek,
		time,
		speed,
		h("span", { class: "rt-state" }, status),
	);
	root.append(bar);

	let scrubbing = false;
	const update = () => {
		setText(play, replay.playing ? "Pause" : "Play");
		play.setAttribute("aria-label", replay.playing ? "Pause the replay" : "Play the replay");
		play.disabled = !replay.loaded;
		seek.max = String(replay.duration);
		if (!scrubbing) seek.value = String(replay.position);
		setText(time, `${clock(replay.position)} / ${clock(replay.duration)}`);
		speed.value = String(replay.speed);
		const state = replay.error || (replay.loaded ? `Replay: ${title}` : "Loading the recording…");
		setText(status, state);
		root.dataset.status = replay.error ? "error" : replay.playing ? "connected" : "idle";
	};
	play.addEventListener("click", () => (replay.playing ? replay.pause() : void replay.play()));
	seek.addEventListener("input", () => {
		scrubbing = true;
		replay.seek(Number(seek.value));
	});
	seek.addEventListener("change", () => {
		scrubbing = false;
	});
	speed.addEventListener("change", () => replay.setSpeed(Number(speed.value)));
	const redraw = perFrame(update);
	const unsubscribe = replay.subscribe(redraw);
	update();
	return () => {
		unsubscribe();
		redraw.cancel();
		bar.remove();
	};
}
