import { afterEach, describe, expect, it, vi } from "vitest";
import { randomId } from "./ids";

describe("randomId", () => {
	afterEach(() => vi.unstubAllGlobals());

	it("makes UUID-shaped ids without crypto.randomUUID (plain-http pages)", () => {
		const { getRandomValues } = crypto;
		vi.stubGlobal("crypto", { getRandomValues: getRandomValues.bind(crypto) });
		const ids = new Set(Array.from({ length: 100 }, randomId));
		expect(ids.size).toBe(100);
		for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
	});
});
