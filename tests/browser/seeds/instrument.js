// Test instrumentation, injected before any page script: observes, never changes, the page's
// WebRTC use. Records every data-channel message, the peak level of the remote audio, and
// (on request) the remote audio itself.
(() => {
	window.__events = [];
	window.__peak = 0;
	let recorder = null;
	const chunks = [];
	const Native = window.RTCPeerConnection;
	window.RTCPeerConnection = class extends Native {
		constructor(...args) {
			super(...args);
			this.addEventListener("track", (e) => {
				const stream = e.streams[0] ?? new MediaStream([e.track]);
				const ctx = new AudioContext();
				const analyser = ctx.createAnalyser();
				analyser.fftSize = 2048;
				ctx.createMediaStreamSource(stream).connect(analyser);
				const buf = new Float32Array(analyser.fftSize);
				setInterval(() => {
					analyser.getFloatTimeDomainData(buf);
					for (const v of buf) window.__peak = Math.max(window.__peak, Math.abs(v));
				}, 20);
				recorder = new MediaRecorder(stream, { mimeType: "audio/webm;codecs=opus" });
				recorder.ondataavailable = (ev) => chunks.push(ev.data);
				recorder.start(250);
			});
		}
		createDataChannel(...args) {
			const channel = super.createDataChannel(...args);
			channel.addEventListener("message", (e) => {
				try {
					window.__events.push(JSON.parse(e.data));
				} catch {
					window.__events.push({ type: "<malformed>", raw: String(e.data) });
				}
			});
			return channel;
		}
	};
	window.__recording = () =>
		new Promise((resolve) => {
			recorder.onstop = async () => {
				const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
				let text = "";
				for (const b of bytes) text += String.fromCharCode(b);
				resolve(btoa(text));
			};
			recorder.stop();
		});
})();
