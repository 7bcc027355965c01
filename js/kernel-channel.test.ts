import { describe, expect, it } from "vitest";
import { isLoopback, KernelChannel } from "./kernel-channel";
import { FakeChannel } from "./testing";
import type { BrowserMessage, KernelMessage } from "./types";

/** Just enough of a WebSocket: what the channel sends, and a way to play the kernel. */
class FakeSocket {
	sent: unknown[] = [];
	closed = false;
	onopen: (() => void) | null = null;
	onmessage: ((e: { data: string }) => void) | null = null;
	onclose: (() => void) | null = null;
	constructor(readonly url: string) {}
	send(text: string): void {
		this.sent.push(JSON.parse(text));
	}
	close(): void {
		this.closed = true;
	}
	receive(msg: object): void {
		this.onmessage?.({ data: JSON.stringify(msg) });
	}
}

function setup() {
	const comm = new FakeChannel();
	const sockets: FakeSocket[] = [];
	const channel = new KernelChannel(comm, (url) => {
		const socket = new FakeSocket(url);
		sockets.push(socket);
		return socket as unknown as WebSocket;
	});
	const received: KernelMessage[] = [];
	channel.on("msg:custom", (msg) => received.push(msg));
	return { comm, sockets, channel, received };
}

/** Ask for the link, let the kernel answer over the comm and the socket say ready. */
function linked() {
	const parts = setup();
	parts.channel.requestLink("127.0.0.1");
	const request = parts.comm.sent[0] as { kind: "link"; id: string };
	parts.comm.emit({ kind: "link", id: request.id, url: "ws://127.0.0.1:9", token: "t0k" } as never);
	const socket = parts.sockets[0];
	if (!socket) throw new Error("no socket opened");
	socket.onopen?.();
	socket.receive({ kind: "ready" });
	parts.comm.sent = [];
	return { ...parts, socket };
}

const events = (seq: number): BrowserMessage => ({
	kind: "events",
	stream: "s",
	events: [{ seq, direction: "server", t: seq, call_id: null, event: { type: "x" } }],
});

describe("KernelChannel", () => {
	it("asks for the link only from a page on this machine", () => {
		expect(["localhost", "127.0.0.1", "[::1]", "lab.localhost"].every(isLoopback)).toBe(true);
		expect(["example.org", "10.0.0.2", "hub.example.com"].some(isLoopback)).toBe(false);
		const { comm, channel } = setup();
		channel.requestLink("hub.example.com");
		expect(comm.sent).toEqual([]);
	});

	it("uses the comm until the link is ready, then the link", () => {
		const { comm, sockets, channel } = setup();
		channel.requestLink("localhost");
		const request = comm.sent[0] as { kind: "link"; id: string };
		channel.send(events(0));
		expect(comm.sent).toHaveLength(2); // the link request, then the events

		comm.emit({ kind: "link", id: "another-page", url: "ws://127.0.0.1:9", token: "x" } as never);
		expect(sockets).toHaveLength(0); // a reply to another page's request
		comm.emit({ kind: "link", id: request.id, url: "ws://127.0.0.1:9", token: "t0k" } as never);
		const socket = sockets[0] as FakeSocket;
		socket.onopen?.();
		expect(socket.sent).toEqual([{ kind: "hello", token: "t0k" }]);
		expect(channel.direct).toBe(false);
		socket.receive({ kind: "ready" });
		expect(channel.direct).toBe(true);

		channel.send(events(1));
		expect(socket.sent.at(-1)).toEqual(events(1));
		expect(comm.sent).toHaveLength(2);
	});

	it("passes the kernel's messages on from both paths, but not the link's own", () => {
		const { comm, socket, received } = linked();
		comm.emit({ kind: "connect" });
		socket.receive({ kind: "send", event: { type: "response.create" } });
		socket.receive({ kind: "ack", seq: 3 });
		expect(received).toEqual([{ kind: "connect" }, { kind: "send", event: { type: "response.create" } }]);
	});

	it("sends unconfirmed event batches again over the comm when the link breaks", () => {
		const { comm, socket, channel } = linked();
		channel.send(events(0));
		channel.send(events(1));
		channel.send({ kind: "stats", call_id: null, t: 0, stats: {} });
		channel.send(events(2));
		socket.receive({ kind: "ack", seq: 1 });
		socket.onclose?.();

		expect(comm.sent).toEqual([events(2)]);
		expect(channel.direct).toBe(false);
		channel.send(events(3));
		expect(comm.sent.at(-1)).toEqual(events(3));
	});

	it("stays on the comm when the socket cannot even be created", () => {
		const comm = new FakeChannel();
		const channel = new KernelChannel(comm, () => {
			throw new Error("refused by the content security policy");
		});
		channel.requestLink("localhost");
		const request = comm.sent[0] as { kind: "link"; id: string };
		comm.emit({ kind: "link", id: request.id, url: "ws://127.0.0.1:9", token: "t" } as never);
		channel.send(events(0));
		expect(comm.sent.at(-1)).toEqual(events(0));
	});

	it("does not join when the kernel offers no link", async () => {
		const { comm, sockets, channel } = setup();
		channel.requestLink("localhost");
		const request = comm.sent[0] as { kind: "link"; id: string };
		comm.emit({ kind: "link", id: request.id, url: null } as never);
		expect(sockets).toHaveLength(0);
		expect(channel.direct).toBe(false);
		await channel.linkSettled(60_000); // settled at once: no waiting for a link that will not come
	});

	it("settles once the link is ready, so an offer can take it", async () => {
		const parts = setup();
		parts.channel.requestLink("127.0.0.1");
		let settled = false;
		void parts.channel.linkSettled(60_000).then(() => {
			settled = true;
		});
		const request = parts.comm.sent[0] as { kind: "link"; id: string };
		parts.comm.emit({ kind: "link", id: request.id, url: "ws://127.0.0.1:9", token: "t0k" } as never);
		const socket = parts.sockets[0] as FakeSocket;
		socket.onopen?.();
		await Promise.resolve();
		expect(settled).toBe(false); // joined, not yet ready
		socket.receive({ kind: "ready" });
		await parts.channel.linkSettled(60_000);
		expect(parts.channel.direct).toBe(true);
	});

	it("does not hold an offer when the page is elsewhere", async () => {
		const { channel } = setup();
		channel.requestLink("hub.example.com");
		await channel.linkSettled(60_000);
	});

	it("closes the link when disposed", () => {
		const { socket, channel } = linked();
		channel.dispose();
		expect(socket.closed).toBe(true);
	});
});
