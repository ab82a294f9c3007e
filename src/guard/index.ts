export { createGuard } from "./guard.js";
export type { Guard, GuardEvent, GuardOptions, GuardRequest, GuardSignal, ReinstateOutcome, RevokeOutcome, SignalOutcome } from "./types.js";
