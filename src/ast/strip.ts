/**
 * A deep copy of an AST (or any part of one) without source locations: every `span` property and
 * every property whose name ends in `Span` (`effectSpan`) is dropped. Two trees that differ only in
 * where they were written compare equal after stripping — the law `parse(print(ast)) = ast` is
 * stated with it.
 */
export function stripSpans<T>(node: T): unknown {
  if (Array.isArray(node)) return node.map(stripSpans);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "span" || k.endsWith("Span")) continue;
    out[k] = stripSpans(v);
  }
  return out;
}

/**
 * A deep copy of an AST with every parameter bound to its value: literals lose their `param` name
 * (so they print as the value, not `$name`) and the file's `param` lines are dropped. What a policy
 * of several files flattens to when one text must stand for it (the probes of `leash explain`).
 */
export function bindParameters<T>(node: T): T {
  if (Array.isArray(node)) return node.map(bindParameters) as T;
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "param" || k === "header") continue;
    out[k] = bindParameters(v);
  }
  return out as T;
}
