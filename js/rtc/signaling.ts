// Posting an SDP offer straight to a Realtime endpoint (ephemeral-key flows). No DOM.

import type { Answer } from "./call";

/** The call id in a `Location` header: its last path segment starting with `rtc_`. */
export function callIdFromLocation(location: string | null): string | null {
	if (!location) return null;
	const parts = location.split("?")[0]?.split("/") ?? [];
	return parts.filter((p) => p.startsWith("rtc_")).pop() ?? null;
}

/** A readable message from an error response, which may be JSON, empty strings, or plain text. */
export function describeRefusal(status: number, body: string): string {
	let detail = body.trim();
	try {
		const error = (JSON.parse(body) as { error?: { message?: string; code?: string } }).error;
		detail = error?.message || error?.code || detail;
	} catch {
		// not JSON: keep the text
	}
	const advice =
		status === 401
			? " The ephemeral key was refused: it may have expired; Connect again for a fresh one."
			: status >= 500
				? " The service had a problem; try again in a moment."
				: "";
	return `The service refused the call (HTTP ${status}): ${detail || "no details given"}.${advice}`;
}

/** POST the offer with the ephemeral key; resolve with the answer and the call id. */
export async function postOffer(url: string, token: string, offerSdp: string): Promise<Answer> {
	let response: Response;
	try {
		response = await fetch(url, {
			method: "POST",
			body: offerSdp,
			headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/sdp" },
		});
	} catch (err) {
		throw new Error(`Could not reach ${url.split("?")[0]} (${String(err)}). Check the network and base_url.`);
	}
	const body = await response.text();
	if (!response.ok) throw new Error(describeRefusal(response.status, body));
	return { sdp: body, callId: callIdFromLocation(response.headers.get("Location")) };
}
