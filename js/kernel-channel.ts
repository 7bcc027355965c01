// The wire to the kernel: Jupyter's comm, or a loopback WebSocket straight into the kernel
// process when the page runs on the kernel's machine (see rt_widget/loopback.py). No DOM.

import { randomId } from "./ids";
import type { AudioHeader, BrowserMessage, KernelMessage, LinkControl, LinkOffer } from "./types";

type Listener = (msg: KernelMessage) => void;

/** What the rest of the front end needs to talk to the kernel (easy to fake in tests). */
export interface Channel {
	send(message: BrowserMessage): void;
	on(name: "msg:custom", listener: Listener): void;
	off(name: "msg:custom", listener: Listener): void;
	/** Whether messages reach the kernel directly (then batching can be finer). */
	readonly direct?: boolean;
}

/** The anywidget model's messaging surface (the comm). */
export interface Comm {
	send(message: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
	on(name: "msg:custom", listener: Listener): void;
	off(name: "msg:custom", listener: Listener): void;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Whether a page served from `hostname` runs on the kernel's machine (as far as we can tell). */
export function isLoopback(hostname: string): boolean {
	return LOOPBACK_HOSTS.has(hostname) || hostname.endsWith(".localhost");
}

/**
 * Messages to and from the kernel over the comm until the loopback link is ready, then over
 * the link. Comm messages wait for the kernel to be idle; link messages go to a thread of the
 * kernel process at once. Event batches sent on the link are kept until the kernel confirms
 * them: if the link breaks, the unconfirmed ones go again over the comm (the kernel drops
 * repeats by sequence number), so nothing is lost.
 */
export class KernelChannel implements Channel {
	readonly #listeners = new Set<Listener>();
	readonly #requestId = randomId();
	#socket: WebSocket | null = null; // from the join until it closes
	#linked: WebSocket | null = null; // the same socket, once the kernel said it is ready
	#settle: () => void = () => {};
	/** Resolves once the link is up, or known not to come. */
	readonly #settled = new Promise<void>((resolve) => {
		this.#settle = resolve;
	});
	#unconfirmed: Extract<BrowserMessage, { kind: "events" }>[] = [];

	constructor(
		private readonly comm: Comm,
		private readonly openSocket: (url: string) => WebSocket = (url) => new WebSocket(url),
	) {
		comm.on("msg:custom", this.#fromComm);
	}

	get direct(): boolean {
		return this.#linked !== null;
	}

	/** Ask the kernel for its loopback link; only pages on the kernel's machine can use it. */
	requestLink(hostname: string): void {
		if (isLoopback(hostname)) this.comm.send({ kind: "link", id: this.#requestId });
		else this.#settle();
	}

	/**
	 * Wait (at most `timeoutMs`) until the link is up or known not to come. An offer made
	 * after that travels the path the whole call will use; the kernel answers the link
	 * request before it reads an offer sent behind it, so this costs only the join.
	 */
	linkSettled(timeoutMs = 5000): Promise<void> {
		return Promise.race([this.#settled, new Promise<void>((resolve) => setTimeout(resolve, timeoutMs))]);
	}

	send(message: BrowserMessage): void {
		if (this.#linked) {
			this.#linked.send(JSON.stringify(message));
			if (message.kind === "events") this.#unconfirmed.push(message);
		} else {
			this.comm.send(message);
		}
	}

	/**
	 * A message with a binary payload (a recording's chunk). On the link it is one binary frame:
	 * the header's length (4 bytes, big-endian), the header as JSON, then the payload; over the
	 * comm, the header with the payload as its buffer.
	 */
	sendAudio(header: AudioHeader, payload: ArrayBuffer): void {
		if (!this.#linked) {
			this.comm.send(header, undefined, [payload]);
			return;
		}
		const head = new TextEncoder().encode(JSON.stringify(header));
		const frame = new Uint8Array(4 + head.length + payload.byteLength);
		new DataView(frame.buffer).setUint32(0, head.length);
		frame.set(head, 4);
		frame.set(new Uint8Array(payload), 4 + head.length);
		this.#linked.send(frame);
	}

	on(_name: "msg:custom", listener: Listener): void {
		this.#listeners.add(listener);
	}

	off(_name: "msg:custom", listener: Listener): void {
		this.#listeners.delete(listener);
	}

	dispose(): void {
		this.comm.off("msg:custom", this.#fromComm);
		this.#socket?.close();
		this.#listeners.clear();
	}

	#emit(msg: KernelMessage): void {
		for (const listener of [...this.#listeners]) listener(msg);
	}

	#fromComm = (msg: KernelMessage | LinkOffer): void => {
		if (msg.kind !== "link") {
			this.#emit(msg);
		} else if (msg.id === this.#requestId && !this.#socket) {
			if (msg.url && msg.token) this.#join(msg.url, msg.token);
			else this.#settle(); // the kernel offers no link
		}
	};

	#join(url: string, token: string): void {
		let socket: WebSocket;
		try {
			socket = this.openSocket(url);
		} catch {
			this.#settle(); // e.g. a content security policy: the comm it is
			return;
		}
		this.#socket = socket;
		socket.onopen = () => socket.send(JSON.stringify({ kind: "hello", token }));
		socket.onmessage = (e: MessageEvent<string>) => {
			const msg = JSON.parse(e.data) as KernelMessage | LinkControl;
			if (msg.kind === "ready") {
				this.#linked = socket;
				this.#settle();
			} else if (msg.kind === "ack") this.#confirm(msg.seq);
			else this.#emit(msg);
		};
		socket.onclose = () => {
			this.#settle();
			this.#linked = null;
			this.#socket = null;
			for (const message of this.#unconfirmed.splice(0)) this.comm.send(message);
		};
	}

	#confirm(seq: number): void {
		const done = this.#unconfirmed.findIndex((m) => (m.events.at(-1)?.seq ?? -1) >= seq);
		this.#unconfirmed.splice(0, done + 1);
	}
}
