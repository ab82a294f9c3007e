import type { LogEvent } from "./event.js";

/**
 * Where decision log lines go. `write` must return at once and never wait for I/O: a sink that
 * writes asynchronously buffers the line and returns a promise that settles once the line is
 * written (one promise may stand for a whole batch). A throw or a rejection counts as a failure of
 * the sink (R335); a `LogDropped` error as a line it refused because its buffer was full (R336).
 * The decision is never affected.
 */
export type LogSink = EventSink | LineSink;

interface SinkBase {
  /** Shown in stats and problem reports: `jsonl(decisions.jsonl)`, `pino`. */
  readonly name: string;
  /** Resolves once every line taken so far is written (or has failed). */
  flush?(): Promise<void>;
  /** Flushes and releases the sink's resources. */
  close?(): Promise<void>;
}

/** A sink that reads the event object a line was made from (a logger that adds its own fields). */
export interface EventSink extends SinkBase {
  readonly lineOnly?: false;
  /** Takes one line: `line` is the event as JSON (no newline), `event` the object it was made from. */
  write(line: string, event: LogEvent): void | Promise<void>;
}

/**
 * A sink that takes the JSON text alone (a file, a socket). When every sink of a log is one, the
 * log writes each decision line straight from the Guard's event without building its object.
 */
export interface LineSink extends SinkBase {
  readonly lineOnly: true;
  /** Takes one line: the event as JSON, no newline. */
  write(line: string): void | Promise<void>;
}

/** A line a sink refused without trying (its buffer is full): counted as dropped (R336). */
export class LogDropped extends Error {
  override readonly name = "LogDropped";
  readonly code = "R336";
}
