import { describe, expect, it } from "vitest";
import { microphoneBlocked } from "./microphone";

const page = {
	secure: false,
	hasGetUserMedia: false,
	hostname: "lab.example",
	port: "9000",
	path: "/lab/tree/a.ipynb",
};

describe("microphoneBlocked", () => {
	it("allows secure pages with getUserMedia", () => {
		expect(microphoneBlocked({ ...page, secure: true, hasGetUserMedia: true })).toBeNull();
	});

	it("explains HTTPS or an SSH tunnel to the page's port, at the same path", () => {
		const text = microphoneBlocked(page);
		expect(text).toContain("http://lab.example:9000 is not one");
		expect(text).toContain("HTTPS");
		expect(text).toContain("ssh -L 8888:localhost:9000 lab.example");
		expect(text).toContain("http://localhost:8888/lab/tree/a.ipynb");
		expect(text).toContain("s.say()");
	});

	it("tunnels to port 80 when the page uses http's default port", () => {
		const text = microphoneBlocked({ ...page, port: "", path: "/user/ada/lab" });
		expect(text).toContain("http://lab.example is not one");
		expect(text).toContain("ssh -L 8888:localhost:80 lab.example");
		expect(text).toContain("http://localhost:8888/user/ada/lab");
	});

	it("says what is missing on a secure page without the API", () => {
		expect(microphoneBlocked({ ...page, secure: true })).toContain("navigator.mediaDevices");
	});
});
