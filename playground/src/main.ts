import { defaultKeymap, history as editHistory, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching } from "@codemirror/language";
import { lintGutter, lintKeymap, setDiagnostics, type Diagnostic as EditorDiagnostic } from "@codemirror/lint";
import { EditorState, type Extension } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers } from "@codemirror/view";
import { checkSource, compilePolicy, parsePolicy, placeInFile, explainRequest, readTrace, renderExplanation, replayTrace, type Diagnostic, type Policy, type PolicyFile, type TraceStep } from "leash";
import { traceJsonl, traceLines, type SuiteReport } from "leash/testing";
import { EXAMPLES } from "./examples.js";
import { leash } from "./language.js";
import { decodeShare, encodeShare } from "./share.js";
import type { WorkerMessage, WorkerRequest } from "./worker.js";

const POLICY_FILE = "policy.rules";
const TRACE_FILE = "trace.jsonl";
const DEFAULT_EXAMPLE = "ticket-agent";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {}, ...children: (Node | string)[]) => {
  const { dataset, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  if (dataset) Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
};

/* ---- editors ---------------------------------------------------------------------------------- */

/** What both editors share: no auto-closing brackets or completion, so typed text stays as typed. */
function setup(onChange: () => void): Extension[] {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    editHistory(),
    drawSelection(),
    bracketMatching(),
    keymap.of([...defaultKeymap, ...historyKeymap, ...lintKeymap, indentWithTab]),
    EditorView.updateListener.of((u) => u.docChanged && onChange()),
  ];
}

const policyEditor = new EditorView({
  parent: $("policy-editor"),
  state: EditorState.create({ doc: "", extensions: [...setup(() => schedule()), leash(), lintGutter()] }),
});
const traceEditor = new EditorView({
  parent: $("trace-editor"),
  state: EditorState.create({ doc: "", extensions: [...setup(() => schedule()), EditorView.lineWrapping] }),
});

function setText(view: EditorView, text: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

/* ---- analysis: diagnostics, then the trace -------------------------------------------------- */

interface Analysis {
  readonly source: string;
  readonly policy: Policy | null;
  readonly ast: PolicyFile | null;
}
let current: Analysis = { source: "", policy: null, ast: null };
let timer: ReturnType<typeof setTimeout> | undefined;

/** Analyses after a pause in typing; `data-pending` on the body says one is due. */
function schedule(): void {
  clearTimeout(timer);
  document.body.dataset.pending = "true";
  timer = setTimeout(analyse, 150);
}

/** Diagnostics as `leash check` reports them (codes, messages, help), then the trace replayed. */
function analyse(): void {
  delete document.body.dataset.pending;
  const source = policyEditor.state.doc.toString();
  // A library module's diagnostics (a rule named as one of its own) are shown at its `use`, naming it.
  const checked = checkSource(source, { file: POLICY_FILE });
  const header = checked.some((d) => d.span.file !== POLICY_FILE) ? (parsePolicy(source, { file: POLICY_FILE }).ast.header ?? []) : [];
  const diagnostics = checked.map((d) => (d.span.file === POLICY_FILE || header.length === 0 ? d : placeInFile(d, header, POLICY_FILE)));
  policyEditor.dispatch(setDiagnostics(policyEditor.state, diagnostics.map((d) => editorDiagnostic(d, source.length))));
  showDiagnostics(diagnostics);
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const compiled = errors === 0 ? compilePolicy(source, { file: POLICY_FILE }) : null;
  current = { source, policy: compiled?.policy ?? null, ast: compiled?.ast ?? null };
  const status = $("policy-status");
  const warnings = diagnostics.length - errors;
  status.textContent = current.policy ? `compiles: ${current.policy.ruleIds.length} rules${warnings ? `, ${plural(warnings, "warning")}` : ""}` : `${plural(errors, "error")}${warnings ? `, ${plural(warnings, "warning")}` : ""}`;
  status.className = current.policy ? "ok" : "fail";
  runTrace();
}

function editorDiagnostic(d: Diagnostic, length: number): EditorDiagnostic {
  const from = Math.min(d.span.offset, length);
  const to = Math.min(Math.max(d.span.endOffset, from), length);
  return {
    from,
    to,
    severity: d.severity,
    source: d.code,
    message: `${d.code}: ${d.message}`,
    renderMessage: () => el("div", {}, el("strong", {}, `${d.severity}[${d.code}]`), ` ${d.message}`, ...(d.help ? [el("div", { className: "help" }, `help: ${d.help}`)] : [])),
  };
}

function showDiagnostics(ds: readonly Diagnostic[]): void {
  const list = $("diagnostics");
  list.replaceChildren(
    ...ds.map((d) =>
      el(
        "li",
        { className: d.severity, dataset: { code: d.code }, onclick: () => reveal(d) },
        el("span", { className: "where" }, `${d.span.line}:${d.span.column}`),
        ` ${d.severity}[${d.code}]: ${d.message}`,
        ...(d.help ? [el("div", { className: "help" }, `help: ${d.help}`)] : []),
      ),
    ),
  );
}

function reveal(d: Diagnostic): void {
  const length = policyEditor.state.doc.length;
  policyEditor.dispatch({ selection: { anchor: Math.min(d.span.offset, length), head: Math.min(d.span.endOffset, length) }, scrollIntoView: true });
  policyEditor.focus();
}

/* ---- the trace ------------------------------------------------------------------------------- */

let steps: TraceStep[] = [];

function runTrace(): void {
  const body = $("decisions").querySelector("tbody")!;
  const summary = $("trace-summary");
  const { policy } = current;
  if (policy === null) {
    body.replaceChildren();
    steps = [];
    summary.textContent = "Fix the policy's errors to run the trace.";
    summary.className = "summary fail";
    return;
  }
  const { events, lines, problems } = readTrace(traceEditor.state.doc.toString(), TRACE_FILE);
  steps = replayTrace(policy, events).steps;
  body.replaceChildren(...steps.map((s, i) => row(s, lines[i] ?? i + 1)));
  const expected = steps.filter((s) => s.expect !== undefined);
  const failed = expected.filter((s) => s.mismatches.length > 0).length;
  summary.replaceChildren(
    `${plural(steps.length, "event")}` + (expected.length ? ` · ${expected.length - failed} of ${expected.length} expectations met` : ""),
    ...problems.map((p) => el("div", { className: "problem" }, p)),
  );
  summary.className = `summary ${failed > 0 || problems.length > 0 ? "fail" : "ok"}`;
}

function row(s: TraceStep, line: number): HTMLTableRowElement {
  const d = s.decision;
  const cells: (Node | string)[][] = [
    [String(line)],
    [eventText(s)],
    d ? [el("span", { className: `effect ${d.effect}` }, d.effect)] : ["·"],
    d ? reasonLines(s) : [[s.revoked?.length ? `revoked ${s.revoked.join(", ")}` : "", s.message ?? ""].filter(Boolean).join(" · ")],
    [
      [
        ...(d?.obligations ?? []).map((o) => (o.kind === "challenge" ? `${o.challenge}${o.satisfiedBy.length ? ` ← ${o.satisfiedBy.join(" | ")}` : ""}` : `revoke ${o.key}`)),
        ...(d?.flags ?? s.flags ?? []).map((f) => `flag ${f}`),
      ].join(" · "),
    ],
    [d?.validUntil === null || d === undefined ? "" : String(d.validUntil)],
    [s.expect === undefined ? "" : s.mismatches.length === 0 ? `✓ ${s.expect.effect ?? "as expected"}` : `✗ ${s.mismatches.join("; ")}`],
    d ? [el("button", { type: "button", className: "explain", onclick: () => explain(s) }, "explain")] : [],
  ];
  const names = ["line", "event", "effect", "reasons", "obligations", "validUntil", "expected", "actions"];
  const tr = el("tr", { dataset: { line: String(line), kind: s.kind, ...(d ? { effect: d.effect } : {}), ...(s.expect ? { ok: String(s.mismatches.length === 0) } : {}) } });
  cells.forEach((c, i) => tr.append(el("td", { dataset: { col: names[i]! } }, ...c)));
  return tr;
}

function eventText(s: TraceStep): string {
  const e = s.event as Record<string, any>;
  if (s.kind === "request") {
    const p = e.principal && typeof e.principal === "object" ? `${e.principal.kind} ${e.principal.id}` : "?";
    const r = e.resource && typeof e.resource === "object" && typeof e.resource.path === "string" ? ` ${e.resource.path}` : "";
    return `${p} ${e.action}${r}${typeof e.session === "string" ? ` (session ${e.session})` : ""} at ${e.time}`;
  }
  if (s.kind === "signal") return `signal ${e.signal} at ${e.time}`;
  return `${s.kind} ${JSON.stringify(e[s.kind] ?? e)}`;
}

function reasonLines(s: TraceStep): (Node | string)[] {
  const d = s.decision!;
  return d.reasons.map((r) => el("div", {}, r.rule ? el("strong", {}, r.rule) : el("code", {}, r.code ?? ""), `: ${r.message}`));
}

function explain(s: TraceStep): void {
  const { policy, ast, source } = current;
  if (policy === null || ast === null) return;
  const before = replayTrace(policy, steps.slice(0, s.index - 1).map((x) => x.event)).state;
  const x = explainRequest(policy, ast, source, before, s.event);
  $("explain-title").textContent = `event ${s.index}: ${eventText(s)}`;
  $("explain").textContent = renderExplanation(x, false);
}

/* ---- tests and properties, in a worker --------------------------------------------------------- */

let worker: Worker | null = null;
let run = 0;

function runTests(): void {
  worker?.terminate();
  worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  const id = ++run;
  const progress = $<HTMLProgressElement>("test-progress");
  const running = $("test-running");
  const summary = $("test-summary");
  progress.value = 0;
  progress.max = 1;
  summary.textContent = "running…";
  summary.className = "summary";
  $("test-results").replaceChildren();
  worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    const m = e.data;
    if (m.id !== id) return;
    if (m.type === "progress") {
      progress.max = Math.max(m.total, 1);
      progress.value = m.total === 0 ? 1 : m.done;
      running.textContent = m.running ? `${m.done} of ${m.total} · ${m.running}` : `${m.done} of ${m.total}`;
    } else if (m.type === "done") {
      showReport(m.report);
      worker?.terminate();
      worker = null;
    } else {
      summary.textContent = `the test runner failed: ${m.message}`;
      summary.className = "summary fail";
    }
  };
  const runs = Math.max(1, Math.min(5000, Number($<HTMLInputElement>("runs").value) || 200));
  worker.postMessage({ id, source: policyEditor.state.doc.toString(), runs } satisfies WorkerRequest);
}

function showReport(r: SuiteReport): void {
  const summary = $("test-summary");
  const list = $("test-results");
  if (r.diagnostics.length > 0 && r.tests.length === 0) {
    summary.textContent = `the policy does not compile: ${r.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`;
    summary.className = "summary fail";
    return;
  }
  const testsOk = r.tests.filter((t) => t.ok).length;
  const propsOk = r.properties.filter((p) => p.ok).length;
  summary.textContent = `tests: ${testsOk} of ${r.tests.length} passed · properties: ${propsOk} of ${r.properties.length} hold · seed ${r.seed} · ${r.ms} ms`;
  summary.className = `summary ${r.ok ? "ok" : "fail"}`;
  list.replaceChildren(
    ...r.tests.map((t) =>
      el(
        "li",
        { className: t.ok ? "ok" : "fail", dataset: { kind: "test", ok: String(t.ok) } },
        `${t.ok ? "✓" : "✗"} test "${t.name}"`,
        ...t.steps.filter((s) => !s.ok).map((s) => el("div", { className: "detail" }, `step ${s.index}: ${s.message ?? "failed"}`)),
      ),
    ),
    ...r.properties.map((p) => {
      const detail: (Node | string)[] = [];
      if (p.error) detail.push(el("div", { className: "detail" }, p.error));
      if (p.counterexample) {
        const c = p.counterexample;
        detail.push(
          el("div", { className: "detail" }, c.message),
          el("pre", { className: "trace" }, traceLines(c.trace, new Map([[c.index, c.decision.effect]])).join("\n")),
          el("button", { type: "button", onclick: () => setText(traceEditor, traceJsonl(c.trace)) }, "load as trace"),
        );
      }
      return el("li", { className: p.ok ? "ok" : "fail", dataset: { kind: "property", ok: String(p.ok) } }, `${p.ok ? "✓" : "✗"} property "${p.property}": ${p.claim} (${plural(p.runs, "trace")})`, ...detail);
    }),
  );
}

/* ---- examples and sharing ---------------------------------------------------------------------- */

function load(policy: string, trace: string): void {
  setText(policyEditor, policy);
  setText(traceEditor, trace);
  clearTimeout(timer);
  analyse();
}

const select = $<HTMLSelectElement>("example");
for (const x of EXAMPLES) select.append(el("option", { value: x.name }, x.name));
select.onchange = () => {
  const x = EXAMPLES.find((e) => e.name === select.value);
  if (x) load(x.policy, x.trace);
};

$("share").onclick = async () => {
  const hash = await encodeShare({ policy: policyEditor.state.doc.toString(), trace: traceEditor.state.doc.toString() });
  history.replaceState(null, "", hash);
  const input = $<HTMLInputElement>("share-url");
  input.value = location.href;
  input.select();
  await navigator.clipboard?.writeText(location.href).catch(() => undefined);
};

async function fromLocation(): Promise<void> {
  const shared = await decodeShare(location.hash);
  if (shared) {
    select.value = "";
    load(shared.policy, shared.trace);
    return;
  }
  const x = EXAMPLES.find((e) => e.name === DEFAULT_EXAMPLE) ?? EXAMPLES[0];
  if (x) {
    select.value = x.name;
    load(x.policy, x.trace);
  }
}

window.addEventListener("hashchange", () => void fromLocation());
$("run-tests").onclick = runTests;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

void fromLocation().then(() => document.body.setAttribute("data-ready", "true"));
