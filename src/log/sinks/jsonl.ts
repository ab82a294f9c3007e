import { close as closeFile, closeSync, fstatSync, open, openSync, write, writeSync } from "node:fs";
import { LogDropped, type LineSink } from "../sink.js";

export interface JsonlSinkOptions {
  /** Most characters waiting to be written (default 8 MiB); lines beyond it are dropped (R336). */
  readonly maxBuffered?: number;
  /** Longest time a line waits before its batch is written (ms, default 100). 0 writes after every turn of the event loop. */
  readonly flushIntervalMs?: number;
  /** A batch this large (characters, default 64 KiB) is written at once, without waiting for the interval. */
  readonly maxBatch?: number;
}

/** A JSONL sink: a `LogSink` with the file it appends to. */
export type JsonlSink = LineSink & {
  readonly path: string;
  /** Resolves once every line taken so far is in the file (handed to the operating system). */
  flush(): Promise<void>;
  /** Writes what is left and closes the file; later lines are refused (R335). */
  close(): Promise<void>;
};

/** A batch handed to the file: its bytes, where the file should end once it is written, and who waits on it. */
interface InFlight {
  readonly bytes: Buffer;
  /** The file's size after this batch, when this sink is its only writer (-1 when unknown). */
  readonly end: number;
  readonly done: Deferred;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(e: Error): void;
}

/**
 * A sink that appends one JSON line per event to a file. Lines are batched: a batch is written in
 * one `write` when it reaches `maxBatch` characters or `flushIntervalMs` after its first line,
 * whichever comes first, and on `flush()` and `close()` — never inside the decision that made a
 * line. One write is in flight at a time; a disk that does not keep up fills the buffer, and lines
 * beyond `maxBuffered` are dropped and counted (R336).
 *
 * When the process exits (`process.exit`, the end of the event loop, an uncaught exception) the
 * lines still buffered are written synchronously, and a batch in flight whose bytes did not reach
 * the file is written again from where the file ends: no line taken is lost, and none is written
 * twice while this sink is the file's only writer. A signal that kills the process without an `exit` event (SIGTERM or SIGINT without a
 * handler, SIGKILL, the OOM killer) loses at most the lines of the last `flushIntervalMs`; call
 * `log.close()` from your SIGTERM handler. Lines are not fsynced (docs/monitoring.md).
 */
export function jsonlSink(path: string, options: JsonlSinkOptions = {}): JsonlSink {
  const maxBuffered = options.maxBuffered ?? 8 * 1024 * 1024;
  const interval = Math.max(0, options.flushIntervalMs ?? 100);
  const maxBatch = Math.max(1, options.maxBatch ?? 64 * 1024);
  /**
   * The size of the batch buffers: twice `maxBatch`, so that a batch that reached it keeps taking
   * lines until it is handed to the file (the next turn, or the end of the write in flight) in the
   * same buffer, unless its lines are mostly not ASCII.
   */
  const CHUNK = Math.max(16 * 1024, Math.min(2 * maxBatch + 4 * 1024, 4 * 1024 * 1024));
  let fd: number | null = null;
  let opening: Promise<number> | null = null;
  let failure: Error | null = null;
  /**
   * Lines taken and not yet handed to the file, encoded as they come into a buffer that is reused
   * once its batch is written (`fill`, `used` bytes; `chunks` before it when lines outgrew it while
   * a write was in flight), their characters, and the promise their writes settle. A line is copied
   * into the buffer when it is taken: no string waits in the process for its batch.
   */
  let chunks: Buffer[] = [];
  let fill: Buffer | null = null;
  let used = 0;
  let batchChars = 0;
  /** A buffer whose batch is written, for the next batch. */
  let spare: Buffer | null = null;
  let batchDone: Deferred | null = null;
  /** Characters taken and not yet written (the batch, and the one in flight). */
  let buffered = 0;
  let inFlight: InFlight | null = null;
  /** The file's size once every batch handed to it is written (-1: unknown, another writer or no stat). */
  let size = -1;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let immediate: ReturnType<typeof setImmediate> | null = null;
  let closed = false;

  const openFile = (): Promise<number> =>
    (opening ??= new Promise<number>((resolve, reject) => {
      open(path, "a", (e, f) => {
        if (e) return reject(e);
        fd = f;
        try {
          size = fstatSync(f).size;
        } catch {
          size = -1;
        }
        resolve(f);
      });
    }));

  const fail = (e: Error) => {
    failure ??= e;
  };

  /** Hands the batch to the file once the one in flight is written; resolves when this batch is written. */
  const drain = (): Promise<void> => {
    cancelTimers();
    if (batchDone === null) return inFlight?.done.promise.catch(() => undefined) ?? Promise.resolve();
    if (inFlight !== null) return inFlight.done.promise.then(drain, drain);
    const chars = batchChars;
    const done = batchDone;
    const owned = chunks.length === 0 ? fill : null;
    const bytes = takeBatch();
    batchDone = null;
    if (failure !== null) {
      buffered -= chars;
      done.reject(failure);
      return done.promise.catch(() => undefined);
    }
    const flight: InFlight = { bytes, end: size < 0 ? -1 : size + bytes.length, done };
    inFlight = flight;
    const finish = (e: Error | null) => {
      buffered -= chars;
      inFlight = null;
      if (owned !== null && owned.length === CHUNK) spare = owned;
      if (e) {
        fail(e);
        done.reject(e);
      } else {
        size = flight.end;
        done.resolve();
      }
      if (batchDone !== null && batchChars >= maxBatch) void drain();
    };
    const put = (f: number) => writeAll(f, bytes, 0, finish);
    if (fd !== null) put(fd);
    else openFile().then(put, (e: Error) => finish(e));
    return done.promise.catch(() => undefined);
  };

  const cancelTimers = () => {
    if (timer !== null) clearTimeout(timer);
    if (immediate !== null) clearImmediate(immediate);
    timer = null;
    immediate = null;
  };

  /** The batch's bytes (the filled part of the buffer, or the chunks joined); the next line starts a new buffer. */
  const takeBatch = (): Buffer => {
    const last = fill === null ? EMPTY : fill.subarray(0, used);
    const bytes = chunks.length === 0 ? last : Buffer.concat([...chunks, last]);
    chunks = [];
    fill = null;
    used = 0;
    batchChars = 0;
    return bytes;
  };

  /** Encodes `line` and a newline into the buffer, starting another when it has no room. */
  const append = (line: string) => {
    const room = fill === null ? 0 : fill.length - used;
    // Three bytes per UTF-16 unit at most: the exact length is counted only when that might not fit.
    if (line.length * 3 + 1 > room) {
      const need = Buffer.byteLength(line, "utf8") + 1;
      if (need > room) {
        if (fill !== null && used > 0) chunks.push(fill.subarray(0, used));
        if (need <= CHUNK && spare !== null) {
          fill = spare;
          spare = null;
        } else fill = Buffer.allocUnsafe(Math.max(CHUNK, need));
        used = 0;
      }
    }
    const f = fill!;
    used += f.write(line, used, "utf8");
    f[used++] = 0x0a;
  };

  const schedule = () => {
    if (batchChars >= maxBatch) {
      if (immediate === null) immediate = setImmediate(drain);
    } else if (timer === null && immediate === null) {
      if (interval === 0) immediate = setImmediate(drain);
      else {
        timer = setTimeout(drain, interval);
        timer.unref();
      }
    }
  };

  /** At exit: the batch in flight (what of it the file lacks) and the buffered lines, synchronously. */
  const writeNow = () => {
    cancelTimers();
    if (failure !== null || (inFlight === null && batchDone === null)) return;
    try {
      const f = fd ?? openSync(path, "a");
      if (inFlight !== null) {
        const { bytes, end } = inFlight;
        const start = end - bytes.length;
        const have = end < 0 ? -1 : fstatSync(f).size;
        // Written already when the file ends where the batch does; with another writer or no stat, write it.
        if (have !== end) writeAllSync(f, have >= start && have < end ? bytes.subarray(have - start) : bytes);
      }
      if (batchDone !== null) writeAllSync(f, takeBatch());
      if (fd === null) closeSync(f);
    } catch {
      // The process is ending; nothing is left to report to.
    }
  };

  return {
    name: `jsonl(${path})`,
    path,
    lineOnly: true,
    write(line) {
      if (closed) throw new Error(`${path}: the sink is closed`);
      if (failure !== null) throw failure;
      if (buffered + line.length + 1 > maxBuffered) throw new LogDropped(`${path}: ${buffered} characters are waiting to be written (maxBuffered ${maxBuffered})`);
      if (batchDone === null) {
        batchDone = deferred();
        atExit.add(writeNow);
        hookExit();
      }
      append(line);
      batchChars += line.length + 1;
      buffered += line.length + 1;
      schedule();
      return batchDone.promise;
    },
    flush: () => drain(),
    async close() {
      if (closed) return;
      closed = true;
      await drain();
      atExit.delete(writeNow);
      const f = fd ?? (opening !== null ? await opening.catch(() => null) : null);
      fd = null;
      if (f !== null) await new Promise<void>((resolve) => closeFile(f, () => resolve()));
    },
  };
}

const EMPTY = Buffer.alloc(0);

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  // Marked handled here: the log counts the failure, an unobserved rejection must not crash the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** `write` until every byte is written (a regular file may take fewer bytes than it was given). */
function writeAll(fd: number, bytes: Buffer, from: number, done: (e: Error | null) => void): void {
  write(fd, bytes, from, bytes.length - from, null, (e, n) => {
    if (e) return done(e);
    if (from + n < bytes.length) return writeAll(fd, bytes, from + n, done);
    done(null);
  });
}

function writeAllSync(fd: number, bytes: Buffer): void {
  let from = 0;
  while (from < bytes.length) from += writeSync(fd, bytes, from, bytes.length - from);
}

/** Sinks with lines not yet in their files: written synchronously when the process exits. */
const atExit = new Set<() => void>();
let hooked = false;
const hookExit = () => {
  if (hooked || typeof process === "undefined" || typeof process.on !== "function") return;
  hooked = true;
  process.on("exit", () => {
    for (const f of atExit) f();
  });
};
