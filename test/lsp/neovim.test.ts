import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { positionOf, ROOT, SERVER_COMMAND } from "./harness.js";

/**
 * Headless Neovim as a third-party LSP client: the configuration from docs/editors.md (with `cmd`
 * pointed at this repository's `leash lsp`) starts the server for a `.rules` file; Neovim opens a
 * broken policy, waits for its diagnostics, asks for a hover, and writes what it got as JSON.
 *
 * Without `nvim` on the PATH this test cannot run and says so; .ci/run installs Debian's neovim,
 * so it always runs in CI.
 */
const version = spawnSync("nvim", ["--version"], { encoding: "utf8" });
const nvim = version.status === 0 ? version.stdout.split("\n")[0]! : null;
if (nvim === null) console.warn("test/lsp/neovim.test.ts: nvim is not installed, so the Neovim end-to-end test is skipped (apt-get install neovim; .ci/run installs it)");

const BROKEN = `actions {
  secret.read, email.send
}

schema {
  context { risk: number }
}

rule readers: allow secret.read, emial.send
rule no-exfil: deny email.send when after(secret.read by session within 10m) or context.rsk > 0.5
`;

/** The Lua block under `<!-- neovim-config -->` in docs/editors.md, with `cmd` set to `command`. */
function documentedConfig(command: readonly string[]): string {
  const doc = readFileSync(join(ROOT, "docs", "editors.md"), "utf8");
  const block = /<!-- neovim-config -->\s*```lua\n([\s\S]*?)```/.exec(doc)?.[1];
  if (block === undefined) throw new Error("docs/editors.md has no lua block after <!-- neovim-config -->");
  const documented = 'cmd = { "npx", "leash", "lsp", "--stdio" },';
  if (block.split(documented).length !== 2) throw new Error(`the Neovim config in docs/editors.md should contain ${documented} once`);
  return block.replace(documented, `cmd = { ${command.map((c) => JSON.stringify(c)).join(", ")} },`);
}

/** Waits for diagnostics, requests a hover, writes both as JSON and quits. */
const HARNESS = `
local out = os.getenv("LEASH_NVIM_OUT")
local buf = vim.api.nvim_get_current_buf()
local waited = vim.wait(40000, function() return #vim.diagnostic.get(buf) >= 2 end, 50)
local diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  local lsp = d.user_data and d.user_data.lsp or {}
  table.insert(diagnostics, {
    lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
    severity = d.severity, message = d.message, source = d.source, code = d.code or lsp.code,
  })
end
local params = {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  position = { line = tonumber(os.getenv("LEASH_HOVER_LINE")), character = tonumber(os.getenv("LEASH_HOVER_CHARACTER")) },
}
local responses = vim.lsp.buf_request_sync(buf, "textDocument/hover", params, 20000)
local hover = vim.NIL
for _, r in pairs(responses or {}) do
  if r.result then hover = r.result end
end
local f = io.open(out, "w")
f:write(vim.fn.json_encode({
  filetype = vim.bo[buf].filetype,
  waited = waited,
  clients = #vim.lsp.buf_get_clients(buf),
  diagnostics = diagnostics,
  hover = hover,
}))
f:close()
vim.cmd("qa!")
`;

interface NeovimReport {
  filetype: string;
  waited: boolean;
  clients: number;
  diagnostics: { lnum: number; col: number; end_lnum: number; end_col: number; severity: number; message: string; source: string; code: string }[];
  hover: { contents: { kind: string; value: string } } | null;
}

const dir = mkdtempSync(join(tmpdir(), "leash-nvim-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(nvim === null)(`Neovim (${nvim ?? "not installed"}) with the configuration of docs/editors.md`, () => {
  it("starts leash lsp for a .rules file, shows its diagnostics and a hover", () => {
    const config = join(dir, "init.lua");
    const harness = join(dir, "harness.lua");
    const file = join(dir, "broken.rules");
    const out = join(dir, "report.json");
    writeFileSync(config, documentedConfig(SERVER_COMMAND));
    writeFileSync(harness, HARNESS);
    writeFileSync(file, BROKEN);
    const hoverAt = positionOf(BROKEN, "after(", 2);
    const r = spawnSync("nvim", ["--headless", "--clean", "-u", config, file, "-c", `luafile ${harness}`], {
      cwd: ROOT,
      env: { ...process.env, LEASH_NVIM_OUT: out, LEASH_HOVER_LINE: String(hoverAt.line), LEASH_HOVER_CHARACTER: String(hoverAt.character) },
      encoding: "utf8",
      timeout: 90_000,
    });
    expect(r.error, r.stderr).toBeUndefined();
    const report = JSON.parse(readFileSync(out, "utf8")) as NeovimReport;
    console.log(`Neovim report: ${JSON.stringify({ ...report, hover: report.hover?.contents.value.split("\n")[0] })}`);
    expect(report.filetype).toBe("leash");
    expect(report.clients).toBe(1);
    expect(report.waited).toBe(true);
    const emial = positionOf(BROKEN, "emial.send");
    const rsk = positionOf(BROKEN, "context.rsk");
    expect(report.diagnostics.map((d) => ({ code: d.code, severity: d.severity, source: d.source, lnum: d.lnum, col: d.col, end_col: d.end_col }))).toEqual([
      { code: "C203", severity: 1, source: "leash", lnum: emial.line, col: emial.character, end_col: emial.character + "emial.send".length },
      { code: "C201", severity: 1, source: "leash", lnum: rsk.line, col: rsk.character, end_col: rsk.character + "context.rsk".length },
    ]);
    expect(report.diagnostics[0]!.message).toBe("action `emial.send` is not declared\n= help: did you mean `email.send`?");
    expect(report.hover?.contents.kind).toBe("markdown");
    expect(report.hover?.contents.value).toContain("`after(X by K [within D] [until Z])`");
  });
});
