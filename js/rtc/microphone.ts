// Whether this page may open a microphone at all, and what to tell the user when not. No DOM:
// the page's facts come in as arguments.

export interface PageFacts {
	/** `window.isSecureContext`. */
	secure: boolean;
	/** Whether `navigator.mediaDevices.getUserMedia` exists. */
	hasGetUserMedia: boolean;
	/** `location.host` (host and port), for the advice. */
	host: string;
	/** `location.port`, or "" for the default one. */
	port: string;
}

/** Why the microphone cannot be used on this page, with what to do; `null` when it can. */
export function microphoneBlocked(page: PageFacts): string | null {
	if (page.secure && page.hasGetUserMedia) return null;
	if (!page.secure) {
		const port = page.port || "8888";
		const hostname = page.host.replace(/:\d+$/, "");
		return (
			`The microphone needs a secure page, and http://${page.host} is not one: browsers allow ` +
			"microphones only on HTTPS or localhost. Serve the notebook over HTTPS, or open it through " +
			`an SSH tunnel (ssh -L ${port}:localhost:${port} ${hostname}, then http://localhost:${port}). ` +
			"Until then, Connect joins without a microphone: send turns from Python with s.say()."
		);
	}
	return (
		"This browser offers no microphone API here (navigator.mediaDevices is missing). " +
		"Connect joins without a microphone: send turns from Python with s.say()."
	);
}
