import {
  CodeActionKind,
  ResponseError,
  ErrorCodes,
  TextDocumentSyncKind,
  TextDocuments,
  type Connection,
  type InitializeParams,
  type InitializeResult,
} from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { fileURLToPath } from "node:url";
import { Analysis, DocumentAnalyser, finish } from "./analysis.js";
import { codeActions } from "./code-actions.js";
import { complete } from "./completion.js";
import { toLspDiagnostic } from "./diagnostics.js";
import { foldingRanges } from "./folding.js";
import { formatDocument } from "./formatting.js";
import { hover } from "./hover.js";
import { definition, highlights, prepareRename, references, rename, RenameError } from "./navigation.js";
import { documentSymbols } from "./outline.js";
import { LEGEND, semanticTokens } from "./semantic-tokens.js";
import { offsetOf, offsetsOf } from "./text.js";

export interface ServerOptions {
  /**
   * How long after the last change diagnostics are computed (ms, default 10): a burst of changes
   * (a paste, several cursors, queued keystrokes) is analysed once. Any request that needs the
   * current text analyses it at once.
   */
  readonly diagnosticsDelayMs?: number;
  /**
   * Reads a file a document imports (`import "../shared/schema.rules"`) when it is not open in the
   * editor, by its path: its text, or `undefined` when there is none. An open document is read from
   * the editor. Without a reader only open documents are found; `startLanguageServer` reads the disk.
   * Library modules (`use leash/login`) are bundled and need no reader.
   */
  readonly readFile?: (file: string) => string | undefined;
}

export const SERVER_NAME = "leash";
export const SERVER_VERSION = "0.1.0";

/** One open document: the analyser that remembers its chunks, the latest analysis, the one under way. */
interface OpenDocument {
  readonly analyser: DocumentAnalyser;
  latest: Analysis | null;
  timer: ReturnType<typeof setTimeout> | null;
  /** An analysis run stage by stage between other work, for `version`. */
  running: { readonly version: number; readonly stages: Generator<void, Analysis, void> } | null;
}

/**
 * The leash language server on `connection`: diagnostics as you type (exactly `leash check`'s),
 * hover, completion, definition, references, rename, highlights, formatting, quick fixes,
 * semantic tokens, folding and the outline. Every handler answers something for any input: a
 * position outside the document, a document the server does not know or a failure inside leash
 * gives an empty answer (and a log message), never a crash.
 */
export function listen(connection: Connection, options: ServerOptions = {}): void {
  const delay = Math.max(0, options.diagnosticsDelayMs ?? 10);
  const documents = new TextDocuments(TextDocument);
  const open = new Map<string, OpenDocument>();
  let snippets = false;
  /** The workspace folders, as paths: imports may not climb above the one a document is in. */
  let roots: string[] = [];
  const rootOf = (file: string) => roots.filter((r) => file.startsWith(`${r}/`)).sort((a, b) => b.length - a.length)[0];
  const readFile = (file: string): string | undefined => {
    for (const d of documents.all()) if (fileOf(d.uri) === file) return d.getText();
    try {
      return options.readFile?.(file);
    } catch {
      return undefined;
    }
  };

  const state = (doc: TextDocument): OpenDocument => {
    let s = open.get(doc.uri);
    if (s === undefined) {
      s = { analyser: new DocumentAnalyser(fileOf(doc.uri), { readFile, root: () => rootOf(fileOf(doc.uri)) }), latest: null, timer: null, running: null };
      open.set(doc.uri, s);
    }
    return s;
  };

  /** The analysis of the document as it is now, computed (and published) if it is not yet. */
  const current = (doc: TextDocument): Analysis => {
    const s = state(doc);
    if (s.latest !== null && s.latest.version === doc.version) return s.latest;
    if (s.timer !== null) clearTimeout(s.timer);
    s.timer = null;
    // An analysis of this version under way is finished now; one of an older version is dropped.
    const stages = s.running?.version === doc.version ? s.running.stages : s.analyser.stages(doc.getText(), doc.version);
    s.running = null;
    s.latest = finish(stages);
    publish(doc, s.latest);
    return s.latest;
  };

  /** Runs the stages of an analysis of `doc` with a turn of the event loop between them. */
  const analyseInTurns = (doc: TextDocument) => {
    const s = state(doc);
    const run = { version: doc.version, stages: s.analyser.stages(doc.getText(), doc.version) };
    s.running = run;
    const step = () => {
      if (s.running !== run) return; // finished by a request, or replaced by a newer version
      const r = guard<IteratorResult<void, Analysis> | null>("diagnostics", () => run.stages.next(), null);
      if (r !== null && !r.done) {
        setTimeout(step, 0);
        return;
      }
      s.running = null;
      if (r === null) return;
      const a = r.value;
      s.latest = a;
      if (documents.get(doc.uri)?.version !== a.version) return;
      publish(doc, a);
      // The symbols next, in a turn of their own: the first completion or hover after a change
      // then finds them ready.
      setTimeout(() => {
        if (s.latest === a) guard("symbols", () => a.symbols, null);
      }, 0);
    };
    step();
  };

  const publish = (doc: TextDocument, a: Analysis) => {
    void connection.sendDiagnostics({ uri: doc.uri, version: a.version, diagnostics: a.diagnostics.map((d) => toLspDiagnostic(doc, d)) }).catch(() => undefined);
  };

  /**
   * Diagnostics `delay` ms after the last change: the parse and each stage of `leash check` in a
   * turn of the event loop of its own. Timers fire before the event loop reads input, so the
   * analysis starts one turn later: a request that came in meanwhile (the completion that follows
   * a keystroke) is answered first, and one that comes in during the analysis waits for one stage,
   * not for all of them.
   */
  const schedule = (doc: TextDocument) => {
    const s = state(doc);
    if (s.timer !== null) clearTimeout(s.timer);
    s.running = null;
    s.timer = setTimeout(() => {
      s.timer = setTimeout(() => {
        s.timer = null;
        const latest = documents.get(doc.uri);
        if (latest !== undefined) analyseInTurns(latest);
      }, 0);
    }, delay);
  };

  /** Runs a handler; a failure is logged and answered with `fallback`. */
  const guard = <T>(what: string, run: () => T, fallback: T): T => {
    try {
      return run();
    } catch (e) {
      if (e instanceof RenameError) throw new ResponseError(ErrorCodes.InvalidRequest, e.message);
      connection.console.error(`leash: ${what} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return fallback;
    }
  };

  /** The document and the offset of a request's position, or null (unknown document, position outside it). */
  const at = (params: { textDocument: { uri: string }; position: { line: number; character: number } }): { doc: TextDocument; offset: number } | null => {
    const doc = documents.get(params?.textDocument?.uri);
    if (doc === undefined) return null;
    const offset = offsetOf(doc, params.position);
    return offset === null ? null : { doc, offset };
  };

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    snippets = params.capabilities?.textDocument?.completion?.completionItem?.snippetSupport === true;
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    roots = folders.map(fileOf).map((r) => r.replace(/\/+$/, ""));
    return {
      capabilities: {
        positionEncoding: "utf-16",
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        completionProvider: { triggerCharacters: [".", "(", ":"], resolveProvider: false },
        definitionProvider: true,
        referencesProvider: true,
        documentHighlightProvider: true,
        renameProvider: { prepareProvider: true },
        documentFormattingProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        semanticTokensProvider: { legend: LEGEND, full: true },
        foldingRangeProvider: true,
        documentSymbolProvider: true,
      },
      serverInfo: { name: SERVER_NAME, version: SERVER_VERSION },
    };
  });

  documents.onDidOpen((e) => schedule(e.document));
  documents.onDidChangeContent((e) => schedule(e.document));
  documents.onDidClose((e) => {
    const s = open.get(e.document.uri);
    if (s?.timer) clearTimeout(s.timer);
    open.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] }).catch(() => undefined);
  });

  connection.onHover((p) => guard("hover", () => {
    const r = at(p);
    return r === null ? null : hover(r.doc, current(r.doc), r.offset);
  }, null));

  connection.onCompletion((p) => guard("completion", () => {
    const r = at(p);
    if (r === null) return [];
    // Names may come from the analysis before the last keystroke; the place is read from the text now.
    const s = state(r.doc);
    const a = s.latest ?? current(r.doc);
    return { isIncomplete: false, items: complete(r.doc, a, r.offset, { snippets }) };
  }, []));

  connection.onDefinition((p) => guard("definition", () => {
    const r = at(p);
    return r === null ? [] : definition(r.doc, current(r.doc), r.offset);
  }, []));

  connection.onReferences((p) => guard("references", () => {
    const r = at(p);
    return r === null ? [] : references(r.doc, current(r.doc), r.offset, p.context?.includeDeclaration !== false);
  }, []));

  connection.onDocumentHighlight((p) => guard("highlight", () => {
    const r = at(p);
    return r === null ? [] : highlights(r.doc, current(r.doc), r.offset);
  }, []));

  connection.onPrepareRename((p) => guard("prepareRename", () => {
    const r = at(p);
    return r === null ? null : prepareRename(r.doc, current(r.doc), r.offset);
  }, null));

  connection.onRenameRequest((p) => guard("rename", () => {
    const r = at(p);
    return r === null ? null : rename(r.doc, current(r.doc), r.offset, p.newName);
  }, null));

  connection.onDocumentFormatting((p) => guard("formatting", () => {
    const doc = documents.get(p?.textDocument?.uri);
    return doc === undefined ? [] : formatDocument(doc, current(doc));
  }, []));

  connection.onCodeAction((p) => guard("codeAction", () => {
    const doc = documents.get(p?.textDocument?.uri);
    const range = doc === undefined ? null : offsetsOf(doc, p.range);
    return doc === undefined || range === null ? [] : codeActions(doc, current(doc), range, p.context?.only);
  }, []));

  connection.languages.semanticTokens.on((p) => guard("semanticTokens", () => {
    const doc = documents.get(p?.textDocument?.uri);
    return doc === undefined ? { data: [] } : semanticTokens(doc, current(doc));
  }, { data: [] }));

  connection.onFoldingRanges((p) => guard("folding", () => {
    const doc = documents.get(p?.textDocument?.uri);
    return doc === undefined ? [] : foldingRanges(doc, current(doc));
  }, []));

  connection.onDocumentSymbol((p) => guard("documentSymbol", () => {
    const doc = documents.get(p?.textDocument?.uri);
    return doc === undefined ? [] : documentSymbols(doc, current(doc));
  }, []));

  documents.listen(connection);
  connection.listen();
}

/** The file name spans carry: the path of a `file:` URI, the URI itself otherwise. */
function fileOf(uri: string): string {
  try {
    return uri.startsWith("file:") ? fileURLToPath(uri) : uri;
  } catch {
    return uri;
  }
}
