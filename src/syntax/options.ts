import type { ParamValue } from "../ast/nodes.js";

/** Limits of the parser (cel-js style): each is an option, each breach is a diagnostic. */
export interface ParseOptions {
  /** The file name spans carry. Default `"<input>"`. */
  readonly file?: string;
  /** Deepest nesting of `(`, `not` and `set<...>` (P103). Default 64. */
  readonly maxDepth?: number;
  /** Most AST nodes in a file (P104). Default 1,000,000. */
  readonly maxNodes?: number;
  /** Most tokens in a file (P104), checked before parsing. Default 4,000,000. */
  readonly maxTokens?: number;
  /** Most diagnostics reported for a file, the last being P108 "too many errors". Default 100. */
  readonly maxErrors?: number;
  /** Longest source in UTF-16 code units (L008). Default 16 MiB. */
  readonly maxSourceLength?: number;
  /**
   * Values for the file's parameters (`param NAME = DEFAULT`), as a `use` of the file as a
   * library module sets them; a parameter not set here takes its default.
   */
  readonly params?: readonly ParamValue[];
}

type Limits = Omit<ParseOptions, "params">;
export type ResolvedOptions = { readonly [K in keyof Limits]-?: NonNullable<Limits[K]> };

export const DEFAULT_OPTIONS: ResolvedOptions = Object.freeze({
  file: "<input>",
  maxDepth: 64,
  maxNodes: 1_000_000,
  maxTokens: 4_000_000,
  maxErrors: 100,
  maxSourceLength: 16 * 1024 * 1024,
});

export function resolveOptions(o: ParseOptions | undefined): ResolvedOptions {
  const pick = (v: number | undefined, d: number, min: number) => (typeof v === "number" && v >= min ? Math.floor(v) : d);
  return {
    file: typeof o?.file === "string" ? o.file : DEFAULT_OPTIONS.file,
    maxDepth: pick(o?.maxDepth, DEFAULT_OPTIONS.maxDepth, 1),
    maxNodes: pick(o?.maxNodes, DEFAULT_OPTIONS.maxNodes, 1),
    maxTokens: pick(o?.maxTokens, DEFAULT_OPTIONS.maxTokens, 1),
    maxErrors: pick(o?.maxErrors, DEFAULT_OPTIONS.maxErrors, 1),
    maxSourceLength: pick(o?.maxSourceLength, DEFAULT_OPTIONS.maxSourceLength, 0),
  };
}
