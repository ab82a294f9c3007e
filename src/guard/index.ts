export { createGuard } from "./guard.js";
export type { DecideOptions, Guard, GuardEvent, GuardOptions, ShadowOptions, GuardRequest, GuardSignal, ReinstateOutcome, RevokeOutcome, SignalOutcome } from "./types.js";
