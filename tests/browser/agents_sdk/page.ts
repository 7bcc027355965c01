// A page built on OpenAI's JS Agents SDK (@openai/agents-realtime), pointed at the emulator.
// tests/browser/test_agents_sdk.py bundles it with esbuild and reads what it records on
// `window.__agents`.

import { OpenAIRealtimeWebRTC, RealtimeAgent, RealtimeSession, tool } from "@openai/agents-realtime";
import { z } from "zod";

interface Record {
	connected: boolean;
	error: string | null;
	toolArguments: unknown[];
	history: unknown[];
}

declare global {
	interface Window {
		__agents: Record;
		__ask(text: string): void;
	}
}

const base = document.body.dataset.base ?? "";
const record: Record = { connected: false, error: null, toolArguments: [], history: [] };
window.__agents = record;

const getWeather = tool({
	name: "get_weather",
	description: "The weather in a city.",
	parameters: z.object({ city: z.string().min(1), unit: z.enum(["celsius", "fahrenheit"]) }),
	// The SDK parses the model's arguments with the zod schema before calling this.
	execute: async ({ city, unit }) => {
		record.toolArguments.push({ city, unit });
		return `sunny and 21 degrees ${unit} in ${city}`;
	},
});

const agent = new RealtimeAgent({ name: "Assistant", instructions: "Be brief.", tools: [getWeather] });

// A silent microphone: this test is about the SDK's protocol, not about hearing.
const silence = new AudioContext().createMediaStreamDestination().stream;
const transport = new OpenAIRealtimeWebRTC({ baseUrl: `${base}/realtime/calls`, mediaStream: silence });
const session = new RealtimeSession(agent, { transport, model: "gpt-realtime" });
session.on("history_updated", (history) => {
	record.history = JSON.parse(JSON.stringify(history));
});
session.on("error", (e) => {
	record.error = String((e as { error?: unknown }).error ?? e);
});
window.__ask = (text) => session.sendMessage(text);

try {
	const token = (await (await fetch("/token")).json()) as { value: string };
	await session.connect({ apiKey: token.value });
	record.connected = true;
} catch (err) {
	record.error = err instanceof Error ? err.message : String(err);
}
