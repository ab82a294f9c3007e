import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { createGuard } from "../../src/guard/index.js";
import { loadBundle, watchBundle } from "../../src/node/index.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { memoryIO } from "../testing/helpers.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function policyDir(rules: string): string {
  const dir = mkdtempSync(join(tmpdir(), "leash-bundle-"));
  dirs.push(dir);
  writeFileSync(join(dir, "leash.policy.json"), "{}\n");
  writeFileSync(join(dir, "schema.rules"), "actions {\n  doc.read, doc.write\n}\n");
  writeFileSync(join(dir, "area.rules"), rules);
  return dir;
}

async function build(dir: string, out: string): Promise<{ code: number; err: string }> {
  const io = Object.assign(memoryIO(), { writeFile: (p: string, t: string) => writeFileSync(p, t) });
  const code = await main(["build", dir, "-o", out], io);
  return { code, err: io.err };
}

const request = { principal: { kind: "human", id: "a" }, action: "doc.write", time: 0 };

describe("bundles: leash build DIR, loadBundle, watchBundle", () => {
  it("a bundle's manifest lists every file and module with its digest, the leash version and the build time", async () => {
    const dir = policyDir("use leash/login\n\nrule reads: allow doc.read\n");
    const out = join(dir, "bundle.json");
    const { code, err } = await build(dir, out);
    expect(err).toMatch(/bundle\.json: \d+ rules, policy [0-9a-f]{16}, sha256:[0-9a-f]{64}/);
    expect(code).toBe(0);
    const bundle = JSON.parse(readFileSync(out, "utf8"));
    expect(bundle.manifest.files.map((f: { path: string }) => f.path.replace(dir, "DIR"))).toEqual(["DIR/area.rules", "DIR/schema.rules", "leash/login.rules"]);
    expect(bundle.manifest.files.every((f: { sha256: string }) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    expect(Number.isNaN(Date.parse(bundle.manifest.builtAt))).toBe(false);
    expect(bundle.leash).toMatch(/^\d+\.\d+\.\d+/);
    const loaded = loadBundle(out);
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.policy!.ruleIds).toContain("login-stuffing-by-ip");
  });

  it("a bundle whose digest does not match is refused (R323)", async () => {
    const dir = policyDir("rule reads: allow doc.read\n");
    const out = join(dir, "bundle.json");
    await build(dir, out);
    const bundle = JSON.parse(readFileSync(out, "utf8"));
    bundle.manifest.files[0].sha256 = "0".repeat(64);
    writeFileSync(out, JSON.stringify(bundle));
    const loaded = loadBundle(out);
    expect(loaded.policy).toBeNull();
    expect(loaded.diagnostics.map((d) => d.code)).toEqual(["R323"]);
  });

  it("the Guard swaps to a rebuilt bundle, and keeps its policy when a changed bundle is refused", async () => {
    const dir = policyDir("rule reads: allow doc.read\n");
    const out = join(dir, "bundle.json");
    await build(dir, out);
    const guard = createGuard({ policy: loadBundle(out).policy! });
    expect((await guard.decide(request)).effect).toBe("deny");
    const swaps: string[] = [];
    const refused: Diagnostic[][] = [];
    let changed!: () => void;
    let next = new Promise<void>((r) => (changed = r));
    const stop = watchBundle(guard, out, { intervalMs: 20, onSwap: (h) => (swaps.push(h), changed()), onRefused: (d) => (refused.push([...d]), changed()) });
    try {
      writeFileSync(join(dir, "area.rules"), "rule reads: allow doc.read, doc.write\n");
      await build(dir, out);
      await next;
      expect(swaps).toEqual([guard.policy.hash]);
      expect((await guard.decide(request)).effect).toBe("allow");
      next = new Promise<void>((r) => (changed = r));
      const tampered = JSON.parse(readFileSync(out, "utf8"));
      tampered.hash = "0123456789abcdef";
      writeFileSync(out, JSON.stringify(tampered));
      await next;
      expect(refused.map((ds) => ds.map((d) => d.code))).toEqual([["R323"]]);
      expect((await guard.decide(request)).effect).toBe("allow");
    } finally {
      stop();
    }
  }, 120_000);

  it("a bundle rebuilt right after watchBundle returns, before any poll, is still swapped to", async () => {
    const dir = policyDir("rule reads: allow doc.read\n");
    const out = join(dir, "bundle.json");
    await build(dir, out);
    const wider = join(dir, "wider.json");
    writeFileSync(join(dir, "area.rules"), "rule reads: allow doc.read, doc.write\n");
    await build(dir, wider);
    const guard = createGuard({ policy: loadBundle(out).policy! });
    let swapped!: (hash: string) => void;
    const swap = new Promise<string>((r) => (swapped = r));
    const stop = watchBundle(guard, out, { intervalMs: 20, onSwap: (h) => swapped(h) });
    try {
      copyFileSync(wider, out);
      expect(await swap).toBe(loadBundle(wider).policy!.hash);
      expect((await guard.decide(request)).effect).toBe("allow");
    } finally {
      stop();
    }
  }, 120_000);
});
