/**
 * Drives the built playground in Debian's Chromium with playwright-core, as a user would, and
 * prints what it saw as one JSON object (`Observations`) on stdout. test/e2e/playground.test.ts runs
 * it in a child process (playwright evaluates code from strings, which the test runner forbids) and
 * asserts on what it reports.
 *
 * `node --import tsx playground/test/browser-driver.ts SITE_DIR EXAMPLES_DIR`
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { LIBRARY_POLICY, LIBRARY_TRACE } from "./library-case.js";

const CHROMIUM = "/usr/bin/chromium";
/** The site is served under this path, so an absolute asset path would not load. */
const BASE = "/some/static/host/";
const TYPES: Readonly<Record<string, string>> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

interface Row {
  readonly kind: string | undefined;
  readonly effect: string | undefined;
  readonly ok: string | undefined;
  readonly text: string;
}

/** What the driver saw, step by step; a step that failed has `error`. */
type Observations = Record<string, Record<string, unknown> & { error?: string }>;

function serve(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = path.startsWith(BASE) ? normalize(join(dir, path.slice(BASE.length) || "index.html")) : "";
    if (!file.startsWith(dir + sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const POLICY = "[data-testid=policy-editor]";
const TRACE = "[data-testid=trace-editor]";

async function text(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? "";
}

/** An editor's text, line by line as CodeMirror shows it (the documents here fit the viewport). */
function editorText(page: Page, editor: string): Promise<string> {
  return page.$$eval(`${editor} .cm-line`, (ls) => ls.map((l) => l.textContent ?? "").join("\n"));
}

/** Replaces an editor's text by typing it, as a user would. */
async function typeInto(page: Page, editor: string, value: string): Promise<void> {
  await page.click(`${editor} .cm-content`);
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(value);
  // The page analyses after a pause in typing: wait for the analysis of the whole text.
  await page.waitForSelector("body:not([data-pending])", { state: "attached" });
}

function rows(page: Page): Promise<Row[]> {
  return page.$$eval("[data-testid=decisions] tbody tr", (trs) =>
    trs.map((tr) => {
      const d = (tr as HTMLElement).dataset;
      return { kind: d.kind, effect: d.effect, ok: d.ok, text: tr.textContent ?? "" };
    }),
  );
}

function waitForText(page: Page, selector: string, pattern: RegExp, timeout = 20_000): Promise<unknown> {
  return page.waitForFunction(([s, source]) => new RegExp(source!).test(document.querySelector(s!)?.textContent ?? ""), [selector, pattern.source], { timeout });
}

async function scenario(context: BrowserContext, origin: string, examples: string, out: Observations): Promise<void> {
  const step = async (name: string, body: () => Promise<Record<string, unknown>>) => {
    try {
      out[name] = await body();
    } catch (e) {
      out[name] = { error: e instanceof Error ? e.message.split("\n")[0]! : String(e) };
    }
  };
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));

  await step("open", async () => {
    await page.goto(`${origin}${BASE}`);
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    return { errors: [...errors], status: await text(page, "[data-testid=policy-status]") };
  });

  await step("highlight", async () => ({
    keywords: await page.$$eval(`${POLICY} .tok-keyword`, (ks) => ks.map((k) => k.textContent)),
    comments: await page.$$eval(`${POLICY} .tok-comment`, (cs) => cs.length),
    meta: await page.$$eval(`${POLICY} .tok-meta`, (ms) => ms.map((m) => m.textContent)),
    strings: await page.$$eval(`${POLICY} .tok-string`, (ss) => ss.map((s) => s.textContent)),
  }));

  await step("typedError", async () => {
    await typeInto(page, POLICY, "rule readers: alow doc.read for agent *\nrule no-deletes: deny doc.delete\n");
    await page.locator("[data-testid=diagnostics] li[data-code=P105]").waitFor({ timeout: 20_000 });
    await page.locator(`${POLICY} .cm-lintRange-error`).first().waitFor({ timeout: 20_000 });
    return {
      diagnostics: await page.$$eval("[data-testid=diagnostics] li", (ls) => ls.map((l) => l.textContent)),
      squiggles: await page.$$eval(`${POLICY} .cm-lintRange-error`, (ss) => ss.map((s) => s.textContent)),
      status: await text(page, "[data-testid=policy-status]"),
      trace: await text(page, "[data-testid=trace-summary]"),
    };
  });

  await step("fixed", async () => {
    await typeInto(page, POLICY, "rule readers: allow doc.read for agent *\nrule no-deletes: deny doc.delete\n");
    await waitForText(page, "[data-testid=policy-status]", /^compiles: 2 rules$/);
    return {
      status: await text(page, "[data-testid=policy-status]"),
      diagnostics: await page.$$eval("[data-testid=diagnostics] li", (ls) => ls.length),
      squiggles: await page.$$eval(`${POLICY} .cm-lintRange-error`, (ss) => ss.length),
    };
  });

  await step("trace", async () => {
    await typeInto(
      page,
      TRACE,
      [
        '{"principal":{"kind":"agent","id":"a"},"action":"doc.read","time":0,"expect":"allow"}',
        '{"principal":{"kind":"agent","id":"a"},"action":"doc.delete","time":1000,"expect":{"effect":"deny","rules":["no-deletes"]}}',
        '{"principal":{"kind":"human","id":"h"},"action":"doc.read","time":2000,"expect":"deny"}',
      ].join("\n"),
    );
    await waitForText(page, "[data-testid=trace-summary]", /^3 events/);
    const got = await rows(page);
    await page.click("[data-testid=decisions] tbody tr:nth-child(2) button.explain");
    return { summary: await text(page, "[data-testid=trace-summary]"), rows: got, explain: await text(page, "[data-testid=explain]") };
  });

  await step("examples", async () => {
    const names = await page.$$eval("[data-testid=example] option", (os) => os.map((o) => (o as HTMLOptionElement).value).filter(Boolean));
    const seen: Record<string, { summary: string; rows: Row[]; errors: number }> = {};
    for (const name of names) {
      await page.selectOption("[data-testid=example]", name);
      const events = readFileSync(join(examples, `${name}.jsonl`), "utf8").split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("//")).length;
      await waitForText(page, "[data-testid=trace-summary]", new RegExp(`^${events} events?\\b`));
      seen[name] = { summary: await text(page, "[data-testid=trace-summary]"), rows: await rows(page), errors: (await page.$$("[data-testid=diagnostics] li.error")).length };
    }
    return { names, seen };
  });

  await step("tests", async () => {
    await page.selectOption("[data-testid=example]", "ticket-agent");
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      const node = document.querySelector("[data-testid=test-running]")!;
      new MutationObserver(() => seen.push(node.textContent ?? "")).observe(node, { childList: true, characterData: true, subtree: true });
    });
    await page.click("[data-testid=run-tests]");
    await waitForText(page, "[data-testid=test-summary]", /passed/, 60_000);
    return {
      summary: await text(page, "[data-testid=test-summary]"),
      progress: await page.$eval("[data-testid=test-progress]", (p) => [(p as HTMLProgressElement).value, (p as HTMLProgressElement).max]),
      seen: await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen),
      results: await page.$$eval("[data-testid=test-results] li", (ls) => ls.map((l) => `${(l as HTMLElement).dataset.kind} ${(l as HTMLElement).dataset.ok}`)),
    };
  });

  await step("counterexample", async () => {
    await typeInto(page, POLICY, 'rule agents: allow doc.* for agent *\nproperty "no deletes" {\n  never allow doc.delete\n}\n');
    await waitForText(page, "[data-testid=policy-status]", /^compiles: 1 rules$/);
    await page.click("[data-testid=run-tests]");
    await waitForText(page, "[data-testid=test-summary]", /properties: 0 of 1 hold/, 60_000);
    const failed = page.locator("[data-testid=test-results] li[data-kind=property][data-ok=false]");
    const message = (await failed.textContent()) ?? "";
    await failed.locator("button").click();
    await waitForText(page, "[data-testid=decisions] tbody", /doc\.delete/);
    return { summary: await text(page, "[data-testid=test-summary]"), message, rows: await rows(page) };
  });

  await step("share", async () => {
    await typeInto(page, POLICY, "rule readers: allow doc.read for agent *\nrule no-deletes: deny doc.delete\n");
    await typeInto(page, TRACE, '{"principal":{"kind":"agent","id":"a"},"action":"doc.delete","time":0,"expect":"deny"}');
    await waitForText(page, "[data-testid=trace-summary]", /^1 event · 1 of 1 expectations met$/);
    const policy = await editorText(page, POLICY);
    const trace = await editorText(page, TRACE);
    await page.click("[data-testid=share]");
    await page.waitForFunction(() => (document.querySelector("[data-testid=share-url]") as HTMLInputElement).value.includes("#s="));
    const url = await page.$eval("[data-testid=share-url]", (i) => (i as HTMLInputElement).value);
    const fresh = await context.newPage();
    await fresh.goto(url);
    await fresh.waitForSelector("body[data-ready=true]");
    await fresh.reload();
    await fresh.waitForSelector("body[data-ready=true]");
    await waitForText(fresh, "[data-testid=trace-summary]", /event/);
    const shown = {
      policy: await editorText(fresh, POLICY),
      trace: await editorText(fresh, TRACE),
      summary: await text(fresh, "[data-testid=trace-summary]"),
      example: await fresh.$eval("[data-testid=example]", (s) => (s as HTMLSelectElement).value),
    };
    await fresh.close();
    return { origin: `${origin}${BASE}`, url, policy, trace, shown };
  });

  await step("libraryModule", async () => {
    // A rule named as one of leash/login's: the module's diagnostic, shown at the `use`, names the module.
    await typeInto(page, POLICY, `${LIBRARY_POLICY}rule login-block-ip: deny login.attempt when context.ip == "x"\n`);
    await page.locator("[data-testid=diagnostics] li[data-code=C275]").waitFor({ timeout: 20_000 });
    const clash = {
      diagnostics: await page.$$eval("[data-testid=diagnostics] li", (ls) => ls.map((l) => l.textContent)),
      squiggles: await page.$$eval(`${POLICY} .cm-lintRange-error`, (ss) => ss.map((s) => s.textContent)),
    };
    await typeInto(page, POLICY, LIBRARY_POLICY);
    await typeInto(page, TRACE, LIBRARY_TRACE);
    await waitForText(page, "[data-testid=trace-summary]", /expectations met$/);
    return { clash, status: await text(page, "[data-testid=policy-status]"), summary: await text(page, "[data-testid=trace-summary]"), rows: await rows(page) };
  });

  out.pageErrors = { errors };
}


async function main(): Promise<void> {
  const [site, examples] = process.argv.slice(2);
  if (!site || !examples) throw new Error("usage: browser-driver.ts SITE_DIR EXAMPLES_DIR");
  const server = await serve(site);
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const profile = mkdtempSync(join(tmpdir(), "leash-chromium-"));
  const out: Observations = {};
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 1000 },
  });
  try {
    // Nothing may leave loopback.
    await context.route("**/*", (route) => (new URL(route.request().url()).hostname === "127.0.0.1" ? route.continue() : route.abort()));
    await scenario(context, origin, examples, out);
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

await main();
