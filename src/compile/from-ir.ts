import { Policy } from "../runtime/engine.js";
import { mapShape } from "../runtime/pmap.js";
import { generateRules } from "./generate.js";
import { contentHash } from "./hash.js";
import type { PolicyIR } from "./ir.js";

/** How a policy holds its state: the options both `compilePolicy` and `loadCompiled` take. */
export interface PolicyOptions {
  /** Most key partitions a state holds (default 100,000); the stalest are evicted beyond it. */
  readonly maxKeys?: number;
}

export const DEFAULT_MAX_KEYS = 100_000;

/**
 * The last compile stage, shared by `compilePolicy` (IR fresh from `lower`) and `loadCompiled` (IR
 * read from a compiled file): evaluator closures from the IR, the register layout's hash, and the
 * frozen `Policy`. The one place a `Policy` is constructed.
 */
export function policyFromIR(ir: PolicyIR, hash: string, options: PolicyOptions = {}): Policy {
  const rules = generateRules(ir);
  const layoutHash = contentHash(ir.keyGroups.map((g) => `${g.text}/${g.slots}`).join(";") + "#" + ir.ops.map((o) => o.signature).join(";"));
  return new Policy(ir, rules, hash, layoutHash, mapShape(options.maxKeys ?? DEFAULT_MAX_KEYS));
}
