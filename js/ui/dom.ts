// A small element builder, so the views read as structure rather than DOM calls.

type Child = Node | string | null | undefined | false;

/** `h("button", { class: "rt-mute", "aria-pressed": "false" }, "Mute")` */
export function h<K extends keyof HTMLElementTagNameMap>(
	tag: K,
	attrs: Record<string, string | number | boolean | undefined> = {},
	...children: Child[]
): HTMLElementTagNameMap[K] {
	const el = document.createElement(tag);
	for (const [name, value] of Object.entries(attrs)) {
		if (value === undefined || value === false) continue;
		el.setAttribute(name, value === true ? "" : String(value));
	}
	for (const child of children) if (child) el.append(child);
	return el;
}

/** Set an element's text only when it changes: even an equal write makes the page lay out again. */
export function setText(el: HTMLElement, text: string): void {
	if (el.textContent !== text) el.textContent = text;
}

/** Wrap `render` so that many calls within one frame draw once; `.cancel()` stops it. */
export function perFrame(render: () => void): (() => void) & { cancel(): void } {
	let frame: number | null = null;
	const schedule = () => {
		frame ??= requestAnimationFrame(() => {
			frame = null;
			render();
		});
	};
	return Object.assign(schedule, {
		cancel: () => {
			if (frame !== null) cancelAnimationFrame(frame);
			frame = null;
		},
	});
}

/** Seconds as m:ss (h:mm:ss from an hour), for call durations and playheads. */
export function clock(seconds: number): string {
	const s = Math.floor(seconds);
	const pad = (n: number) => String(n).padStart(2, "0");
	return s >= 3600
		? `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`
		: `${Math.floor(s / 60)}:${pad(s % 60)}`;
}
