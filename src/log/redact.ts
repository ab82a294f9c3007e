import type { Policy } from "../runtime/engine.js";

/** What a decision log writes in place of a `[secret]` attribute's value. */
export const REDACTED = "[redacted]";

type Root = "principal" | "resource" | "context";

/** One `[secret]` attribute: `context.card-number` as its root and name. */
interface Secret {
  readonly root: Root;
  readonly name: string;
  readonly path: string;
}

/**
 * How to redact what a policy's `[secret]` attributes would spell: their values in an input, and
 * the state keys (`context.card-number:4111...`, `principal:human/ana`) that carry those values in
 * messages, `watch` entries, obligations and revocation keys.
 */
export class Redactor {
  private readonly secrets: readonly Secret[];

  constructor(paths: readonly string[]) {
    this.secrets = paths.flatMap((p) => {
      const dot = p.indexOf(".");
      const root = p.slice(0, dot);
      return root === "principal" || root === "resource" || root === "context" ? [{ root, name: p.slice(dot + 1), path: p }] : [];
    });
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }

  /** Whether `input` holds a value of a secret attribute (what `input` would replace). */
  touches(input: Record<string, unknown>): boolean {
    for (const s of this.secrets) {
      const entity = ownValue(input, s.root);
      if (entity !== null && typeof entity === "object" && !Array.isArray(entity) && Object.prototype.hasOwnProperty.call(entity, s.name)) return true;
    }
    return false;
  }

  /**
   * The input with every secret attribute's value replaced (own properties only; the original is
   * not touched), the paths that were replaced, and the key texts to scrub from strings.
   */
  input(input: Record<string, unknown>): { input: Record<string, unknown>; redacted: string[]; keys: string[] } {
    if (this.secrets.length === 0) return { input, redacted: [], keys: [] };
    let out = input;
    const redacted: string[] = [];
    const keys: string[] = [];
    for (const s of this.secrets) {
      const entity = ownValue(out, s.root);
      if (entity === null || typeof entity !== "object" || Array.isArray(entity) || !Object.prototype.hasOwnProperty.call(entity, s.name)) continue;
      const value = (entity as Record<string, unknown>)[s.name];
      if (out === input) out = { ...input };
      out[s.root] = { ...(entity as Record<string, unknown>), [s.name]: REDACTED };
      redacted.push(s.path);
      if (typeof value === "string" || typeof value === "number") {
        keys.push(`${s.path}:${value}`);
        if (s.root === "principal" && s.name === "id") keys.push(`principal:${String(ownValue(entity, "kind"))}/${value}`);
      }
    }
    return { input: out, redacted, keys };
  }

  /** A state key with its value redacted when the key is a secret attribute's (`context.otp:[redacted]`). */
  key(key: string): string {
    for (const s of this.secrets) {
      if (key.startsWith(`${s.path}:`)) return `${s.path}:${REDACTED}`;
      if (s.root === "principal" && s.name === "id" && key.startsWith("principal:")) {
        const slash = key.indexOf("/");
        if (slash > 0) return `${key.slice(0, slash + 1)}${REDACTED}`;
      }
    }
    return key;
  }
}

/** `text` with each of `keys` (state key texts spelling a secret) replaced by its redacted form. */
export function scrub(text: string, keys: readonly string[], redactor: Redactor): string {
  let out = text;
  for (const k of keys) if (out.includes(k)) out = out.split(k).join(redactor.key(k));
  return out;
}

const cache = new WeakMap<Policy, Redactor>();
const pairs = new WeakMap<Policy, WeakMap<Policy, Redactor>>();

/** The redactor of a policy's `[secret]` attributes (built once per policy), or of two policies' together. */
export function redactorOf(policy: Policy, other?: Policy): Redactor {
  if (other !== undefined && other !== policy) {
    let inner = pairs.get(policy);
    if (inner === undefined) pairs.set(policy, (inner = new WeakMap()));
    let both = inner.get(other);
    if (both === undefined) inner.set(other, (both = new Redactor([...new Set([...secretsOf(policy), ...secretsOf(other)])])));
    return both;
  }
  let r = cache.get(policy);
  if (r === undefined) cache.set(policy, (r = new Redactor(secretsOf(policy))));
  return r;
}

function secretsOf(policy: Policy): readonly string[] {
  return policy.ir?.secrets ?? [];
}

function ownValue(o: unknown, k: string): unknown {
  return o !== null && typeof o === "object" && Object.prototype.hasOwnProperty.call(o, k) ? (o as Record<string, unknown>)[k] : undefined;
}
