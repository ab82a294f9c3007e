import type { LogEvent } from "../event.js";
import type { LogSink } from "../sink.js";

/** The part of a pino logger the sink uses (pino 8 to 10). */
export interface PinoLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  /** pino's `logger.flush(cb)`: writes what an asynchronous destination holds. */
  flush?(cb?: (err?: Error) => void): void;
}

export interface PinoSinkOptions {
  /** The key the event is logged under (default `decision`): pino's own `time`, `level` and `msg` stay apart. */
  readonly key?: string;
  /** The message of each line (default `leash.<kind>`: `leash.decision`, `leash.signal`, ...). */
  readonly msg?: string;
  /** `warn` for denials, challenges and revocations, `info` for the rest (default); or always `info`. */
  readonly levels?: "by-effect" | "info";
}

/**
 * A sink that logs each event through a pino logger, under `key`. Pino's destination decides how it
 * writes: give it an asynchronous one (`pino.destination({ sync: false })` or a transport) so that
 * logging never waits for the disk.
 */
export function pinoSink(logger: PinoLike, options: PinoSinkOptions = {}): LogSink {
  const key = options.key ?? "decision";
  const byEffect = (options.levels ?? "by-effect") === "by-effect";
  return {
    name: "pino",
    write(_line: string, event: LogEvent) {
      const msg = options.msg ?? `leash.${event.kind}`;
      const loud = byEffect && (event.kind === "decision" || event.kind === "shadow") && event.effect !== "allow";
      if (loud) logger.warn({ [key]: event }, msg);
      else logger.info({ [key]: event }, msg);
    },
    flush: () =>
      new Promise<void>((resolve, reject) => {
        if (typeof logger.flush !== "function") return resolve();
        logger.flush((err) => (err ? reject(err) : resolve()));
      }),
  };
}
