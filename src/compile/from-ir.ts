import { Policy } from "../runtime/engine.js";
import { DEFAULT_LIMITS, type RequestLimits } from "../runtime/request.js";
import { CompiledRules } from "./generate.js";
import type { PolicyIR } from "./ir.js";
import type { IndexOptions } from "./rule-index.js";

/** How a policy holds its state and bounds its requests: the options both `compilePolicy` and `loadCompiled` take. */
export interface PolicyOptions {
  /** Most key partitions a state holds (default 100,000); beyond it the least recently written is evicted. */
  readonly maxKeys?: number;
  /**
   * Bounds on every request and signal (defaults: depth 16, 1,000 properties, 65,536 characters of
   * strings, key values of 1,024 characters); over one, the decision is a deny with R302.
   */
  readonly limits?: Partial<RequestLimits>;
}

export const DEFAULT_MAX_KEYS = 100_000;

/**
 * The last compile stage, shared by `compilePolicy` (IR fresh from `lower`) and `loadCompiled` (IR
 * read from a compiled file): evaluator closures from the IR and the frozen `Policy`. The one place
 * a `Policy` is constructed. Rules are compiled as buckets need them (`CompiledRules`). `index` shapes the rule index (tests build the deepest one).
 */
export function policyFromIR(ir: PolicyIR, hash: string, options: PolicyOptions = {}, index?: IndexOptions): Policy {
  const rules = new CompiledRules(ir);
  const maxKeys = Math.max(1, Math.floor(options.maxKeys ?? DEFAULT_MAX_KEYS) || DEFAULT_MAX_KEYS);
  const limits: RequestLimits = Object.freeze({ ...DEFAULT_LIMITS, ...definedOnly(options.limits ?? {}) });
  return new Policy(ir, rules, hash, { maxKeys, limits, ...(index === undefined ? {} : { index }) });
}

/** The fields of `o` that are set (an explicit `undefined` keeps the default). */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
