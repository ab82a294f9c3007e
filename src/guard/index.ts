export { createGuard } from "./guard.js";
export { manualClock, systemClock, type GuardClock, type ManualClock } from "./clock.js";
export type { DecideOptions, Guard, GuardEvent, GuardOptions, ShadowOptions, GuardRequest, GuardSignal, Hold, HoldCause, HoldChange, HoldOptions, ReinstateOutcome, RevokeOutcome, SignalOutcome } from "./types.js";
