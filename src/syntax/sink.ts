import type { Span } from "../ast/span.js";
import { diagnostic, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { CODES } from "../diagnostics/codes.js";

/**
 * Collects a file's diagnostics up to an error limit (as OPA does): once more than `limit` problems
 * are found the phases stop, and the result ends with one P108 "too many errors" in the last slot.
 */
export class DiagnosticSink {
  private readonly items: Diagnostic[] = [];
  private overflowAt: Span | null = null;

  constructor(readonly limit: number) {}

  get count(): number {
    return this.items.length;
  }

  /** True once more than `limit` problems were found; phases check it to stop early. */
  get full(): boolean {
    return this.overflowAt !== null;
  }

  /** Add a diagnostic; returns false when the limit was already reached (it is then dropped). */
  add(d: Diagnostic): boolean {
    if (this.overflowAt !== null) return false;
    if (this.items.length >= this.limit) {
      this.overflowAt = d.span;
      return false;
    }
    this.items.push(d);
    return true;
  }

  /** The diagnostics added so far, unsorted. */
  snapshot(): readonly Diagnostic[] {
    return this.items;
  }

  /** Record that more problems were found at `span` than were reported. */
  overflow(span: Span): void {
    this.overflowAt ??= span;
  }

  /** The diagnostics sorted by position; at most `limit`, the last one P108 when some were dropped. */
  finish(): Diagnostic[] {
    const sorted = sortDiagnostics(this.items);
    if (this.overflowAt === null) return sorted;
    const kept = sorted.slice(0, Math.max(0, this.limit - 1));
    const at = sorted[kept.length]?.span ?? this.overflowAt;
    kept.push(diagnostic("P108", at, `too many errors; stopped after ${kept.length}`, CODES.P108.help));
    return kept;
  }
}
