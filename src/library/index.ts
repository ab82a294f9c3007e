import { API } from "./api.js";
import { CHECKOUT } from "./checkout.js";
import { LOGIN } from "./login.js";
import { SIGNUP } from "./signup.js";
import { TOKEN } from "./token.js";

/**
 * leash's library of interaction-layer event classes: each a `.rules` module a policy joins with
 * `use leash/NAME { param: value }` — its schema, its actions and parameterised ready rules. The
 * modules are text compiled with the policy (so they are checked, formatted and explained like any
 * file); their guide pages are docs/guides/library-*.md.
 */
const MODULES: ReadonlyMap<string, string> = new Map([
  ["leash/login", LOGIN],
  ["leash/signup", SIGNUP],
  ["leash/checkout", CHECKOUT],
  ["leash/token", TOKEN],
  ["leash/api", API],
]);

/** The names of the library's modules, as `use` writes them. */
export const LIBRARY_MODULE_NAMES: readonly string[] = [...MODULES.keys()];

/** The source of a library module (`leash/login`), or `undefined` when there is none. */
export function libraryModule(name: string): string | undefined {
  return MODULES.get(name);
}

/** The file name a module's spans carry: `leash/login.rules`. */
export function moduleFileName(name: string): string {
  return `${name}.rules`;
}
