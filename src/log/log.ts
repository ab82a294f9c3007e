import type { GuardEvent } from "../guard/types.js";
import { logEventOf, type LogContext, type LogEvent } from "./event.js";
import { decisionLine } from "./line.js";
import { redactorOf } from "./redact.js";
import type { LogSink } from "./sink.js";

export interface DecisionLogOptions {
  readonly sinks: readonly LogSink[];
  /** Added to every line as `labels` (service, version, region...). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Which shadow-mode decisions to write: `flips` (default), `all`, or `none`. */
  readonly shadow?: "flips" | "all" | "none";
  /** Longest line (characters, default 65,536); a longer one keeps only the input's principal, action, session and time. */
  readonly maxLineLength?: number;
  /**
   * Told when a sink fails (R335) or drops lines (R336): on a sink's first problem, then at most
   * once per `reportIntervalMs` with the counts since. Default: one `console.warn` line each time.
   */
  readonly onProblem?: (problem: LogProblem) => void;
  /** Default 60,000 ms. */
  readonly reportIntervalMs?: number;
}

/** A sink's failures or drops, as `onProblem` is told them. */
export interface LogProblem {
  readonly code: "R335" | "R336";
  readonly sink: string;
  readonly message: string;
  /** Lines lost to failures and drops since the last report. */
  readonly failed: number;
  readonly dropped: number;
}

export interface SinkStats {
  readonly name: string;
  /** Lines the sink took and reported written (or took without a promise). */
  readonly written: number;
  /** Lines lost because the sink failed (R335). */
  readonly failed: number;
  /** Lines the sink refused with a full buffer (R336). */
  readonly dropped: number;
  readonly lastError: { readonly code: string; readonly message: string; readonly time: string } | null;
}

export interface DecisionLogStats {
  /** Guard events recorded. */
  readonly events: number;
  /** Lines made (events minus skipped shadow agreements). */
  readonly lines: number;
  /** Lines whose input was too large and was cut down (`truncated: true`). */
  readonly truncated: number;
  readonly sinks: readonly SinkStats[];
}

/** A decision log: give `record` to the Guard as `onDecision`. */
export interface DecisionLog {
  /** Writes one line per decision, signal, revocation and reinstatement (and shadow flip). Never throws, never waits. */
  readonly record: (event: GuardEvent) => void;
  /** Resolves once every sink has written what it took. */
  flush(): Promise<void>;
  /** Flushes and closes the sinks; later events are counted but not written. */
  close(): Promise<void>;
  stats(): DecisionLogStats;
}

const DEFAULT_MAX_LINE = 65_536;

interface SinkState {
  readonly sink: LogSink;
  written: number;
  failed: number;
  dropped: number;
  lastError: SinkStats["lastError"];
  /** Counts at the last report, and when it was. */
  reportedFailed: number;
  reportedDropped: number;
  reportedAt: number;
  /** The promise the sink returned last and how many lines wait on it (a batching sink returns one per batch). */
  waiting: { promise: Promise<void>; lines: number } | null;
}

/**
 * A decision log over `sinks`: each Guard event becomes one JSON line (docs/monitoring.md has the
 * schema) with the policy's `[secret]` attributes redacted, handed to every sink. Writing never
 * blocks or fails a decision: a sink that throws, rejects or drops is counted per sink and reported
 * through `onProblem`.
 */
export function decisionLog(options: DecisionLogOptions): DecisionLog {
  const states: SinkState[] = options.sinks.map((sink) => ({ sink, written: 0, failed: 0, dropped: 0, lastError: null, reportedFailed: 0, reportedDropped: 0, reportedAt: -Infinity, waiting: null }));
  const labels = options.labels && Object.keys(options.labels).length > 0 ? { ...options.labels } : undefined;
  const ctx: LogContext = { labels, labelsJson: labels ? `,"labels":${JSON.stringify(labels)}` : "" };
  // Sinks that take the text alone let a decision's line be written without its event object.
  const linesOnly = states.every((s) => s.sink.lineOnly === true);
  const shadow = options.shadow ?? "flips";
  const maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE;
  const interval = options.reportIntervalMs ?? 60_000;
  const onProblem = options.onProblem ?? warn;
  let events = 0;
  let lines = 0;
  let truncated = 0;
  let closed = false;

  const problem = (s: SinkState, e: unknown) => {
    const dropped = isDrop(e);
    if (dropped) s.dropped++;
    else s.failed++;
    const code = dropped ? "R336" : "R335";
    const message = errorText(e);
    s.lastError = { code, message, time: new Date().toISOString() };
    const now = Date.now();
    if (now - s.reportedAt < interval) return;
    const report: LogProblem = { code, sink: s.sink.name, message, failed: s.failed - s.reportedFailed, dropped: s.dropped - s.reportedDropped };
    s.reportedAt = now;
    s.reportedFailed = s.failed;
    s.reportedDropped = s.dropped;
    try {
      onProblem(report);
    } catch {
      // Reporting a problem must not become one.
    }
  };

  const write = (s: SinkState, line: string, event: LogEvent | null) => {
    try {
      const sink = s.sink;
      const out = sink.lineOnly === true ? sink.write(line) : sink.write(line, event!); // null only when every sink takes lines alone
      if (!(out instanceof Promise)) {
        s.written++;
        return;
      }
      if (s.waiting !== null && s.waiting.promise === out) {
        s.waiting.lines++;
        return;
      }
      const waiting = { promise: out, lines: 1 };
      s.waiting = waiting;
      out.then(
        () => {
          s.written += waiting.lines;
          if (s.waiting === waiting) s.waiting = null;
        },
        (e: unknown) => {
          for (let i = 0; i < waiting.lines; i++) problem(s, e);
          if (s.waiting === waiting) s.waiting = null;
        },
      );
    } catch (e) {
      problem(s, e);
    }
  };

  const record = (e: GuardEvent): void => {
    events++;
    if (closed) return;
    try {
      if (e.kind === "shadow" && (shadow === "none" || (shadow === "flips" && !e.flipped))) return;
      if (linesOnly && e.kind === "decision") {
        const line = decisionLine(e, ctx, redactorOf(e.policy), maxLine);
        if (line !== null) {
          lines++;
          for (const s of states) write(s, line, null);
          return;
        }
      }
      const made = lineOf(logEventOf(e, ctx), maxLine);
      if (made.truncated) truncated++;
      lines++;
      for (const s of states) write(s, made.line, made.event);
    } catch (err) {
      // An event the log cannot turn into a line is a failure of every sink: nothing was written.
      for (const s of states) problem(s, err);
    }
  };

  const settle = (f: ((s: LogSink) => Promise<void> | undefined) | null) =>
    Promise.all(
      states.map(async (s) => {
        try {
          await f?.(s.sink);
        } catch (e) {
          problem(s, e);
        }
      }),
    ).then(() => undefined);

  return {
    record,
    flush: () => settle((s) => s.flush?.()),
    async close() {
      if (closed) return;
      closed = true;
      await settle((s) => s.close?.() ?? s.flush?.());
    },
    stats: () => ({
      events,
      lines,
      truncated,
      sinks: states.map((s) => ({ name: s.sink.name, written: s.written, failed: s.failed, dropped: s.dropped, lastError: s.lastError })),
    }),
  };
}

/** The event as one JSON line: an input that does not serialise is made printable, one too long is cut down. */
function lineOf(event: LogEvent, maxLine: number): { line: string; event: LogEvent; truncated: boolean } {
  let e = event;
  let line: string;
  try {
    line = JSON.stringify(e);
  } catch {
    e = { ...e, ...("input" in e ? { input: printable(e.input, 0) as Record<string, unknown> } : {}) } as LogEvent;
    line = JSON.stringify(e);
  }
  if (line.length <= maxLine || !("input" in e)) return { line, event: e, truncated: false };
  e = { ...e, input: summary(e.input), truncated: true } as LogEvent;
  return { line: JSON.stringify(e), event: e, truncated: true };
}

const MAX_DEPTH = 16;

/** A JSON-safe copy: cycles, bigints, throwing getters and deep nesting become strings. */
function printable(v: unknown, depth: number, seen: Set<object> = new Set()): unknown {
  try {
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
    if (typeof v === "bigint") return v.toString();
    if (typeof v !== "object") return v === undefined ? null : `[${typeof v}]`;
    if (seen.has(v)) return "[cycle]";
    if (depth >= MAX_DEPTH) return "[too deep]";
    seen.add(v);
    const out = Array.isArray(v) ? v.map((x) => printable(x, depth + 1, seen)) : Object.fromEntries(Object.keys(v).map((k) => [k, printable((v as Record<string, unknown>)[k], depth + 1, seen)]));
    seen.delete(v);
    return out;
  } catch (e) {
    return `[unreadable: ${errorText(e)}]`;
  }
}

/** What a line keeps of an input too large for it. */
function summary(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const p = input.principal as { kind?: unknown; id?: unknown } | undefined;
  if (p !== null && typeof p === "object") out.principal = { kind: short(p.kind), id: short(p.id) };
  for (const k of ["action", "signal", "session"]) if (typeof input[k] === "string") out[k] = short(input[k]);
  out.time = input.time;
  return out;
}

function short(v: unknown): unknown {
  return typeof v === "string" && v.length > 256 ? `${v.slice(0, 256)}...` : v;
}

function isDrop(e: unknown): boolean {
  return e instanceof Error && (e as { code?: unknown }).code === "R336";
}

function errorText(e: unknown): string {
  try {
    return e instanceof Error ? e.message : String(e);
  } catch {
    return "an error without a message";
  }
}

function warn(p: LogProblem): void {
  console.warn(`leash decision log: sink ${p.sink} ${p.code === "R336" ? "dropped lines" : "failed"} (${p.code}): ${p.message}; ${p.failed} line(s) lost, ${p.dropped} dropped since the last report`);
}
