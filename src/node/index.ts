/**
 * leash/node — what needs Node's file system: reading `.rules` files and compiled policies from
 * disk. Everything else is in `leash` (compile, decide, check, format) and `leash/runtime` (decide
 * from a precompiled policy), which run in any JavaScript runtime.
 *
 * ```ts
 * import { loadPolicy } from "leash/node";
 * const { policy, diagnostics } = loadPolicy("policies/agent.rules");
 * ```
 * @packageDocumentation
 */
export { loadPolicy, isPolicyDirectory, POLICY_MANIFEST } from "./load.js";
export type { LoadPolicyResult, LoadOptions } from "./load.js";
export { loadBundle, watchBundle } from "./bundle.js";
export type { WatchBundleOptions } from "./bundle.js";
