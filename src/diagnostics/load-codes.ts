import type { CodeInfo } from "./codes.js";

/** The codes of `loadCompiled` (part of `CODES`; see docs/errors.md). */
export const LOAD_CODES = {
  R320: { title: "not a compiled policy", help: "load the JSON file that `leash build` wrote" },
  R321: { title: "unsupported compiled format", help: "rebuild the policy with `leash build` of the leash version that loads it" },
  R322: { title: "compiled by another leash version", help: "rebuild the policy with `leash build` of the leash version that loads it" },
  R323: { title: "compiled policy modified", help: "rebuild the policy from its source with `leash build`; never edit a compiled policy" },
  R324: { title: "unexpected compiled policy", help: "load the policy whose digest was pinned, or pin the digest of the new build" },
  R325: { title: "invalid compiled policy", help: "the file was not written by `leash build`; rebuild the policy from its source" },
} as const satisfies Record<string, CodeInfo>;
