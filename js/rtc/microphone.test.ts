import { describe, expect, it } from "vitest";
import { microphoneBlocked } from "./microphone";

describe("microphoneBlocked", () => {
	it("allows secure pages with getUserMedia", () => {
		expect(microphoneBlocked({ secure: true, hasGetUserMedia: true, host: "localhost:8888", port: "8888" })).toBeNull();
	});

	it("explains HTTPS or an SSH tunnel on a plain-http host, with its port", () => {
		const text = microphoneBlocked({ secure: false, hasGetUserMedia: false, host: "lab.example:9000", port: "9000" });
		expect(text).toContain("http://lab.example:9000");
		expect(text).toContain("HTTPS");
		expect(text).toContain("ssh -L 9000:localhost:9000 lab.example");
		expect(text).toContain("s.say()");
	});

	it("says what is missing on a secure page without the API", () => {
		expect(microphoneBlocked({ secure: true, hasGetUserMedia: false, host: "x", port: "" })).toContain(
			"navigator.mediaDevices",
		);
	});
});
