import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { loadPolicy } from "../../src/node/index.js";
import { memoryIO } from "../testing/helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "leash-team-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A policy directory in the scratch folder: path -> text. */
function policyDir(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function run(args: string[]) {
  const io = memoryIO();
  const code = await main(args, io);
  return { code, out: io.out, err: io.err.replaceAll(scratch + "/", "") };
}

describe("the CLI takes a policy directory", () => {
  it("leash eval examples/team examples/team.jsonl --check", async () => {
    const r = await run(["eval", "examples/team", "examples/team.jsonl", "--check"]);
    expect(r.err).toBe("11 of 11 expectations met\n");
    expect(r.out).toContain("challenge login.attempt        human/user-4             login-stuffing-by-ip");
    expect(r.code).toBe(0);
  });

  it("leash demo runs the directory with its trace", async () => {
    const r = await run(["demo"]);
    expect(r.out).toMatch(/✓ team +\d+ rules +16 events/);
    expect(r.code).toBe(0);
  });

  it("leash explain names each rule's file", async () => {
    const dir = policyDir("explain", { "req.json": '{"principal":{"kind":"human","id":"u"},"action":"login.attempt","context":{"ip":"1.2.3.4"},"time":0}' });
    const r = await run(["explain", "examples/team", join(dir, "req.json")]);
    expect(r.out).toContain("logins-open                allow     examples/team/logins/logins.rules:6 matched");
    expect(r.out).toContain("login-stuffing-by-ip       challenge leash/login.rules:26 not matched");
    expect(r.out).toContain("when count(signal login.fail by context.ip within 2m) >= 3");
  });

  it("leash test runs the merged policy's tests and properties", async () => {
    const r = await run(["test", "examples/team", "--runs", "50", "--seed", "1"]);
    expect(r.out).toContain('✓ property "agents never refund"');
    expect(r.out).toMatch(/ok: 1 file; tests 1 passed; properties 1 held/);
    expect(r.code).toBe(0);
  });

  it("leash check reports a problem across files at both places, each with its own source frame", async () => {
    const dir = policyDir("broken", {
      "leash.policy.json": "{}\n",
      "shared.rules": "schema {\n  context { ip: string }\n}\n",
      "areas/login.rules": 'import "../shared.rules"\n\nschema {\n  context { ip: number }\n}\n\nrule open: allow login.attempt\n',
      "areas/pay.rules": "rule open: allow payment.submit\n",
    });
    const r = await run(["check", dir]);
    expect(r.err).toContain("broken/shared.rules:2:13: error[C276]: `context.ip` is `string` here and `number` in broken/areas/login.rules");
    expect(r.err).toContain("2 |   context { ip: string }");
    expect(r.err).toContain("note: declared `number` in broken/areas/login.rules (broken/areas/login.rules:4:13)");
    expect(r.err).toContain("broken/areas/pay.rules:1:6: error[C275]: rule name `open` is also defined in broken/areas/login.rules");
    expect(r.code).toBe(1);
  });

  it("an import cycle, an import out of the root and a missing file, each coded and naming both places", async () => {
    const dir = policyDir("imports", {
      "leash.policy.json": "{}\n",
      "a.rules": 'import "b.rules"\nimport "../outside.rules"\nimport "missing.rules"\n\nrule a: allow x.y\n',
      "b.rules": 'import "a.rules"\n\nrule b: allow x.z\n',
    });
    writeFileSync(join(scratch, "outside.rules"), "rule outside: allow x.y\n");
    const r = await run(["check", "--json", dir]);
    const ds = r.out.trim().split("\n").map((l) => JSON.parse(l) as { code: string; message: string; span: { file: string }; related?: { span: { file: string } }[] });
    expect(ds.map((d) => `${d.code} ${d.span.file.replace(scratch + "/", "")} -> ${(d.related ?? []).map((x) => x.span.file.replace(scratch + "/", "")).join(",")}`)).toEqual([
      "C271 imports/a.rules -> imports/",
      "C270 imports/a.rules -> imports/missing.rules",
      "C272 imports/b.rules -> imports/a.rules",
    ]);
    expect(r.code).toBe(1);
  });

  it("leash build and diff take directories", async () => {
    const out = join(scratch, "team.bundle.json");
    const io = Object.assign(memoryIO(), { writeFile: (p: string, t: string) => writeFileSync(p, t) });
    expect(await main(["build", "examples/team", "-o", out], io)).toBe(0);
    expect(io.err).toMatch(/team\.bundle\.json: 14 rules, policy [0-9a-f]{16}, sha256:/);
    const r = await run(["diff", "examples/team", "examples/team", "--runs", "20", "--seed", "1"]);
    expect(r.out).toContain("no difference");
    expect(r.code).toBe(0);
  });

  it("loadPolicy takes a directory, a file with its imports, or a list of files", () => {
    expect(loadPolicy("examples/team").policy!.ruleIds).toHaveLength(14);
    expect(loadPolicy("examples/team/logins/logins.rules").diagnostics.map((d) => d.code)).toEqual(["C271"]);
    const list = loadPolicy(["examples/team/shared/schema.rules", "examples/team/checkout/checkout.rules"]);
    expect(list.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(list.policy!.ruleIds).toContain("checkout-card-testing");
    expect(loadPolicy("no/such/dir").diagnostics.map((d) => d.code)).toEqual(["C298"]);
  });
});
