/**
 * `leash/log`: decision logs. `decisionLog` turns each Guard event into one JSON line — decision
 * id, time, policy hash, input (with `[secret]` attributes redacted), effect, deciding rules,
 * reasons, obligations, flags, latency — and hands it to its sinks without ever blocking or failing
 * the decision; a failing sink is counted and reported.
 *
 * ```ts
 * import { createGuard } from "leash";
 * import { decisionLog, jsonlSink } from "leash/log";
 *
 * const log = decisionLog({ sinks: [jsonlSink("decisions.jsonl")], labels: { service: "shop" } });
 * const guard = createGuard({ policy, onDecision: log.record });
 * ```
 * @packageDocumentation
 */
export { decisionLog } from "./log.js";
export type { DecisionLog, DecisionLogOptions, DecisionLogStats, LogProblem, SinkStats } from "./log.js";
export type { LogDecision, LogError, LogEvent, LogKeyOperation, LogReason, LogShadow, LogSignal } from "./event.js";
export { LogDropped } from "./sink.js";
export type { EventSink, LineSink, LogSink } from "./sink.js";
export { jsonlSink } from "./sinks/jsonl.js";
export type { JsonlSink, JsonlSinkOptions } from "./sinks/jsonl.js";
export { pinoSink } from "./sinks/pino.js";
export type { PinoLike, PinoSinkOptions } from "./sinks/pino.js";
export { REDACTED } from "./redact.js";
export { fanOut } from "./fan-out.js";
