/**
 * Bounds that keep per-key state fixed-size. The checker reports a source policy beyond one as C206
 * or C209; `loadCompiled` refuses a compiled one beyond one (R325), so no file makes a decision
 * allocate without bound.
 */
export const LIMITS = {
  /** Largest count/distinct threshold and windowed `limit` an exact window keeps timestamps for. */
  maxWindowCapacity: 1000,
  maxRegularitySamples: 64,
  maxSequenceStages: 16,
  maxWorkflowSteps: 30,
  /** Longest window: 366 days. */
  maxWindowMs: 366 * 24 * 3600 * 1000,
} as const;
