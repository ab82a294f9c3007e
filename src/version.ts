/**
 * The leash version, as in package.json (a test keeps the two equal). Compiled policies record it,
 * and `loadCompiled` accepts only a policy compiled by this version.
 */
export const VERSION = "0.1.0";
