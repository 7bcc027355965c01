// Test helpers: a fake of the anywidget model's messaging surface.

import type { Channel } from "./kernel-channel";
import type { BrowserMessage, KernelMessage } from "./types";

type Listener = (msg: KernelMessage) => void;

export class FakeChannel implements Channel {
	sent: BrowserMessage[] = [];
	/** Pretend to be the loopback link (messages reach the kernel directly). */
	direct = false;
	#listeners = new Set<Listener>();

	send = (msg: unknown): void => {
		this.sent.push(msg as BrowserMessage);
	};

	on(_name: "msg:custom", listener: Listener): void {
		this.#listeners.add(listener);
	}

	off(_name: "msg:custom", listener: Listener): void {
		this.#listeners.delete(listener);
	}

	get listenerCount(): number {
		return this.#listeners.size;
	}

	/** Deliver a message as if the kernel had sent it. */
	emit(msg: KernelMessage): void {
		for (const listener of [...this.#listeners]) listener(msg);
	}
}
