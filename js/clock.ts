/** Wall-clock time in epoch milliseconds, at sub-millisecond resolution. */
export function nowMs(): number {
	return performance.timeOrigin + performance.now();
}
