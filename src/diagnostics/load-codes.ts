/**
 * The help of the codes `loadCompiled` gives (R320-R325; their titles are in `CODES`, see
 * docs/errors.md): in a module of their own, so that the runtime entry carries these texts and not
 * the whole catalog.
 */
export const LOAD_HELP = {
  R320: "load the JSON file that `leash build` wrote",
  R321: "rebuild the policy with `leash build` of the leash version that loads it",
  R322: "rebuild the policy with `leash build` of the leash version that loads it",
  R323: "rebuild the policy from its source with `leash build`; never edit a compiled policy",
  R324: "load the policy whose digest was pinned, or pin the digest of the new build",
  R325: "the file was not written by `leash build`; rebuild the policy from its source",
} as const;
