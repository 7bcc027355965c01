// Whether this page may open a microphone at all, and what to tell the user when not. No DOM:
// the page's facts come in as arguments.

export interface PageFacts {
	/** `window.isSecureContext`. */
	secure: boolean;
	/** Whether `navigator.mediaDevices.getUserMedia` exists. */
	hasGetUserMedia: boolean;
	/** `location.hostname`, for the advice. */
	hostname: string;
	/** `location.port`, or "" for the protocol's default one. */
	port: string;
	/** `location.pathname`: the tunnelled page is at the same path. */
	path: string;
}

/** The port a tunnel makes `localhost` listen on. */
const LOCAL_PORT = "8888";

/** Why the microphone cannot be used on this page, with what to do; `null` when it can. */
export function microphoneBlocked(page: PageFacts): string | null {
	if (page.secure && page.hasGetUserMedia) return null;
	if (!page.secure) {
		const port = page.port || "80"; // plain http: its default port
		const where = page.port ? `${page.hostname}:${page.port}` : page.hostname;
		return (
			`The microphone needs a secure page, and http://${where} is not one: browsers allow ` +
			"microphones only on HTTPS or localhost. Serve the notebook over HTTPS, or open it through " +
			`an SSH tunnel (ssh -L ${LOCAL_PORT}:localhost:${port} ${page.hostname}, then ` +
			`http://localhost:${LOCAL_PORT}${page.path}). ` +
			"Until then, Connect joins without a microphone: send turns from Python with s.say()."
		);
	}
	return (
		"This browser offers no microphone API here (navigator.mediaDevices is missing). " +
		"Connect joins without a microphone: send turns from Python with s.say()."
	);
}
