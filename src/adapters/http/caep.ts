/**
 * A receiver of security events (OpenID Shared Signals / CAEP, delivered by push, RFC 8935): each
 * Security Event Token (RFC 8417) is verified, and its events become revocations and signals of
 * the Guard, which the holds then act on. See docs/reevaluation.md ("Security events") for how
 * each event type maps to leash constructs.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Guard, GuardSignal } from "../../guard/types.js";
import type { KeySpec, Principal } from "../../runtime/types.js";

/** The CAEP event types the receiver maps, by their URI. */
export const CAEP_EVENTS = {
  "https://schemas.openid.net/secevent/caep/event-type/session-revoked": "session.revoked",
  "https://schemas.openid.net/secevent/caep/event-type/credential-change": "credential.changed",
  "https://schemas.openid.net/secevent/caep/event-type/token-claims-change": "token.claims-changed",
  "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change": "assurance.changed",
} as const;

/** Largest SET the receiver reads (bytes). */
export const MAX_SET_BYTES = 64 * 1024;

/** What the keys of an event's subject are in leash. */
export interface SubjectKeys {
  readonly session?: string;
  readonly principal?: Principal;
}

/** A SET's header and claims, as the receiver read them, for a caller's own verification. */
export interface SecurityEventToken {
  /** The JWS header (`{ alg, typ, kid }`); `{}` for a SET delivered as plain JSON. */
  readonly header: Readonly<Record<string, unknown>>;
  /** The claims: `iss`, `aud`, `iat`, `jti`, `events`, `sub_id`. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The token as received (the compact JWS, or the JSON text). */
  readonly raw: string;
}

export interface CaepReceiverOptions {
  readonly guard: Guard;
  /**
   * The shared secret of HS256-signed SETs (JWS compact, `application/secevent+jwt`). A SET
   * signed with another algorithm needs `verify`.
   */
  readonly secret?: string | Uint8Array;
  /**
   * Verifies a SET the shared secret cannot (another algorithm, a JSON SET, mTLS checked by the
   * server): true accepts it. It runs after the HS256 check when both are given and a secret
   * could not decide. An exception it throws refuses the SET (R344).
   */
  readonly verify?: (token: SecurityEventToken) => boolean | Promise<boolean>;
  /** Accept SETs nothing verified (tests, or a transmitter the server authenticates otherwise). Default false. */
  readonly allowUnverified?: boolean;
  /** The issuers accepted (`iss`); any when absent. */
  readonly issuer?: string | readonly string[];
  /** This receiver's audience (`aud` must hold it); any when absent. */
  readonly audience?: string | readonly string[];
  /** The subject's leash keys; by default a `session` subject's id and a `user` subject as a principal of kind `principalKind`. */
  readonly subject?: (subject: Readonly<Record<string, unknown>>, eventType: string) => SubjectKeys | undefined;
  /** The kind of principal a user subject is (default `human`). */
  readonly principalKind?: string;
  /** Told of every SET: what it did, or why it was refused. */
  readonly onEvent?: (outcome: CaepOutcome) => void;
}

/** What one SET did. */
export type CaepOutcome =
  | {
      readonly accepted: true;
      readonly jti: string | undefined;
      /** Per event: its type, the signal observed, the keys revoked. */
      readonly events: readonly { readonly type: string; readonly signal: string; readonly revoked: readonly string[] }[];
    }
  | {
      readonly accepted: false;
      /** R343 malformed, R344 not verified, R345 not mappable. */
      readonly code: "R343" | "R344" | "R345";
      /** The RFC 8935 error: `invalid_request`, `authentication_failed`, `invalid_issuer`, `invalid_audience`. */
      readonly err: string;
      readonly reason: string;
    };

/** An HTTP answer of the receiver: 202 for an accepted SET, 400 (RFC 8935 error JSON) otherwise. */
export interface CaepResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly outcome: CaepOutcome;
}

/** A security event receiver: `receive` for any server; `express`, `fetch` for the adapters' frameworks. */
export interface CaepReceiver {
  /** Reads one delivered SET (the request body and its content type); never throws. */
  receive(body: string | Uint8Array, contentType: string | undefined): Promise<CaepResponse>;
  /** An express route handler (mount it with `express.text({ type: "application/*" })` or without a body parser). */
  express(): (req: { readonly body?: unknown; readonly headers: Record<string, unknown>; on?(event: string, listener: (chunk?: unknown) => void): unknown }, res: { status(code: number): unknown; setHeader(name: string, value: string): unknown; end(body: string): unknown }) => Promise<void>;
  /** A Fetch-API handler (hono `app.post("/caep", (c) => handler(c.req.raw))`, Next.js, any web-standard server). */
  fetch(request: Request): Promise<Response>;
}

class Refused {
  constructor(
    readonly code: "R343" | "R344" | "R345",
    readonly err: string,
    readonly reason: string,
  ) {}
}

/**
 * A receiver of CAEP security events. Refuses a SET nothing verified unless `allowUnverified`;
 * a SET that cannot be read is R343, one that is not verified R344, one whose events leash cannot
 * map (no supported type, a subject with no session or user) R345 — each a 400 with the RFC 8935
 * error and the code, never an exception.
 *
 * ```ts
 * const caep = caepReceiver({ guard, secret: process.env.CAEP_SECRET, issuer: "https://idp.example.com/" });
 * app.post("/caep", caep.express());
 * ```
 */
export function caepReceiver(options: CaepReceiverOptions): CaepReceiver {
  if (options === null || typeof options !== "object" || options.guard === undefined) throw new TypeError("leash/http: caepReceiver needs { guard }");
  if (options.secret === undefined && options.verify === undefined && options.allowUnverified !== true) throw new TypeError("leash/http: caepReceiver needs a secret or a verify function (or allowUnverified: true)");
  const issuers = listOf(options.issuer);
  const audiences = listOf(options.audience);
  const secret = typeof options.secret === "string" ? new TextEncoder().encode(options.secret) : options.secret;

  const tell = (outcome: CaepOutcome) => {
    try {
      options.onEvent?.(outcome);
    } catch {
      // A log hook never changes the answer.
    }
  };

  const receive = async (body: string | Uint8Array, contentType: string | undefined): Promise<CaepResponse> => {
    let outcome: CaepOutcome;
    try {
      const token = parse(body, contentType);
      if (token instanceof Refused) outcome = refusedOutcome(token);
      else {
        const verified = await verifyToken(token, secret, options);
        if (verified instanceof Refused) outcome = refusedOutcome(verified);
        else {
          const checked = checkClaims(token.claims, issuers, audiences);
          outcome = checked instanceof Refused ? refusedOutcome(checked) : await apply(token.claims, options);
        }
      }
    } catch (e) {
      outcome = refusedOutcome(new Refused("R343", "invalid_request", `the security event could not be read: ${e instanceof Error ? e.message : String(e)}`));
    }
    tell(outcome);
    if (outcome.accepted) return { status: 202, headers: {}, body: "", outcome };
    return { status: 400, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify({ err: outcome.err, description: outcome.reason, code: outcome.code }), outcome };
  };

  return {
    receive,
    express: () => async (req, res) => {
      const type = headerText(req.headers["content-type"]);
      let body: string | Uint8Array;
      if (typeof req.body === "string" || req.body instanceof Uint8Array) body = req.body;
      else if (req.body !== undefined && req.body !== null && typeof req.body === "object" && Object.keys(req.body).length > 0) body = JSON.stringify(req.body);
      else body = await readBody(req);
      const r = await receive(body, type);
      res.status(r.status);
      for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
      res.end(r.body);
    },
    fetch: async (request) => {
      let body: Uint8Array;
      try {
        body = new Uint8Array(await request.arrayBuffer());
      } catch {
        body = new Uint8Array();
      }
      const r = await receive(body, request.headers.get("content-type") ?? undefined);
      return new Response(r.status === 202 ? null : r.body, { status: r.status, headers: r.headers });
    },
  };
}

function refusedOutcome(r: Refused): CaepOutcome {
  return { accepted: false, code: r.code, err: r.err, reason: r.reason };
}

/** The token in a delivered body: a compact JWS (`application/secevent+jwt`) or the claims as JSON. */
function parse(body: string | Uint8Array, contentType: string | undefined): SecurityEventToken | Refused {
  const size = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  if (size === 0) return new Refused("R343", "invalid_request", "the request has no body: a security event token was expected");
  if (size > MAX_SET_BYTES) return new Refused("R343", "invalid_request", `the security event token is longer than ${MAX_SET_BYTES} bytes`);
  const raw = (typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true }).decode(body)).trim();
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json" || (type === "" && raw.startsWith("{"))) {
    const claims = jsonObject(raw);
    if (claims === null) return new Refused("R343", "invalid_request", "the security event is not a JSON object");
    return { header: {}, claims, raw };
  }
  if (type !== "" && type !== "application/secevent+jwt" && type !== "application/jwt") return new Refused("R343", "invalid_request", `a security event token is application/secevent+jwt, not ${JSON.stringify(type.slice(0, 64))}`);
  const parts = raw.split(".");
  if (parts.length !== 3) return new Refused("R343", "invalid_request", "a security event token is a compact JWS: three base64url parts joined by dots");
  const header = jsonObject(base64url(parts[0]!));
  const claims = jsonObject(base64url(parts[1]!));
  if (header === null) return new Refused("R343", "invalid_request", "the JWS header is not base64url JSON");
  if (claims === null) return new Refused("R343", "invalid_request", "the JWS payload is not base64url JSON");
  return { header, claims, raw };
}

async function verifyToken(token: SecurityEventToken, secret: Uint8Array | undefined, options: CaepReceiverOptions): Promise<true | Refused> {
  const alg = token.header.alg;
  if (secret !== undefined && alg === "HS256") {
    const [h, p, s] = token.raw.split(".") as [string, string, string];
    const expected = createHmac("sha256", secret).update(`${h}.${p}`).digest();
    const given = Buffer.from(s, "base64url");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
    return new Refused("R344", "authentication_failed", "the HS256 signature does not match the shared secret");
  }
  if (options.verify !== undefined) {
    let ok: boolean;
    try {
      ok = (await options.verify(token)) === true;
    } catch (e) {
      return new Refused("R344", "authentication_failed", `the verify function threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    return ok ? true : new Refused("R344", "authentication_failed", "the verify function did not accept the security event token");
  }
  if (options.allowUnverified === true) return true;
  const what = Object.keys(token.header).length === 0 ? "a JSON security event" : `a SET signed with ${JSON.stringify(String(alg)).slice(0, 40)}`;
  return new Refused("R344", "authentication_failed", `${what} cannot be verified with the shared secret (HS256); give verify to check it`);
}

function checkClaims(claims: Readonly<Record<string, unknown>>, issuers: readonly string[] | null, audiences: readonly string[] | null): true | Refused {
  if (issuers !== null && (typeof claims.iss !== "string" || !issuers.includes(claims.iss))) return new Refused("R344", "invalid_issuer", `the issuer ${JSON.stringify(String(claims.iss)).slice(0, 200)} is not one this receiver accepts`);
  if (audiences !== null) {
    const aud = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    if (!aud.some((a) => typeof a === "string" && audiences.includes(a))) return new Refused("R344", "invalid_audience", "the security event token is not addressed to this receiver (aud)");
  }
  const events = claims.events;
  if (events === null || typeof events !== "object" || Array.isArray(events) || Object.keys(events).length === 0) return new Refused("R343", "invalid_request", "a security event token has an events claim: an object of event types");
  return true;
}

/** Turns the events of a verified SET into revocations and signals. */
async function apply(claims: Readonly<Record<string, unknown>>, options: CaepReceiverOptions): Promise<CaepOutcome> {
  const events = claims.events as Record<string, unknown>;
  const plan: { type: string; signal: string; keys: SubjectKeys; body: Record<string, unknown> }[] = [];
  const unknown: string[] = [];
  for (const type of Object.keys(events)) {
    const signal = (CAEP_EVENTS as Record<string, string>)[type];
    if (signal === undefined) {
      unknown.push(type);
      continue;
    }
    const body = events[type];
    if (body === null || typeof body !== "object" || Array.isArray(body)) return refusedOutcome(new Refused("R343", "invalid_request", `the event ${type} is not an object`));
    const b = body as Record<string, unknown>;
    const subject = objectOr(b.subject) ?? objectOr(claims.sub_id);
    if (subject === null) return refusedOutcome(new Refused("R345", "invalid_request", `the event ${type} has no subject (subject, or sub_id of the token)`));
    let keys: SubjectKeys | undefined;
    try {
      keys = options.subject ? options.subject(subject, type) : defaultKeys(subject, options.principalKind ?? "human");
    } catch (e) {
      return refusedOutcome(new Refused("R345", "invalid_request", `the subject mapping threw: ${e instanceof Error ? e.message : String(e)}`));
    }
    if (keys === undefined || (keys.session === undefined && keys.principal === undefined)) return refusedOutcome(new Refused("R345", "invalid_request", `the subject of ${type} names no session and no user leash knows (formats: opaque session id, iss_sub, email, opaque user)`));
    plan.push({ type, signal, keys, body: b });
  }
  if (plan.length === 0) return refusedOutcome(new Refused("R345", "invalid_request", `no event type this receiver maps: ${unknown.slice(0, 4).join(", ")}`));
  const done: { type: string; signal: string; revoked: string[] }[] = [];
  for (const { type, signal, keys, body } of plan) {
    const revoked: string[] = [];
    const reason = reasonOf(type, body);
    if (signal === "session.revoked") {
      // The session ends by API (or the user's, when the subject names no session); the signal
      // reaches the policy's rules too.
      const key: KeySpec = keys.session !== undefined ? { session: keys.session } : { principal: keys.principal! };
      const r = await options.guard.revoke(key, reason);
      if (r.error === undefined) revoked.push(r.key);
    }
    const context = contextOf(type, body);
    const s: GuardSignal = {
      signal,
      ...(keys.session !== undefined ? { session: keys.session } : {}),
      ...(keys.principal !== undefined ? { principal: keys.principal } : {}),
      ...(Object.keys(context).length > 0 ? { context } : {}),
    };
    const out = await options.guard.observe(s);
    for (const r of out.revoked) revoked.push(r.key);
    done.push({ type, signal, revoked });
  }
  return { accepted: true, jti: typeof claims.jti === "string" ? claims.jti : undefined, events: done };
}

/** A session from a `session` subject (or an opaque one under `session`), a principal from a `user` one. */
function defaultKeys(subject: Readonly<Record<string, unknown>>, kind: string): SubjectKeys | undefined {
  const format = subject.format;
  if (format === "complex") {
    const session = objectOr(subject.session);
    const user = objectOr(subject.user);
    const sid = session !== null ? idOf(session) : undefined;
    const uid = user !== null ? idOf(user) : undefined;
    return { ...(sid !== undefined ? { session: sid } : {}), ...(uid !== undefined ? { principal: { kind, id: uid } } : {}) };
  }
  if (format === "session_id" || format === "opaque_session") {
    const sid = idOf(subject);
    return sid === undefined ? undefined : { session: sid };
  }
  const uid = idOf(subject);
  return uid === undefined ? undefined : { principal: { kind, id: uid } };
}

/** The identifier of a simple subject: `id` (opaque), `sub` (iss_sub), `email`, `phone_number`. */
function idOf(s: Readonly<Record<string, unknown>>): string | undefined {
  for (const f of ["id", "sub", "email", "phone_number"]) {
    const v = s[f];
    if (typeof v === "string" && v !== "" && v.length <= 512) return v;
  }
  return undefined;
}

function reasonOf(type: string, body: Readonly<Record<string, unknown>>): string {
  const admin = body.reason_admin;
  const text = typeof admin === "string" ? admin : admin !== null && typeof admin === "object" && typeof (admin as { en?: unknown }).en === "string" ? (admin as { en: string }).en : undefined;
  const short = type.slice(type.lastIndexOf("/") + 1);
  return text !== undefined ? `${short}: ${text.slice(0, 256)}` : `${short} reported by the identity provider`;
}

/** The event's fields a rule may read, as the signal's context (scalars only). */
function contextOf(type: string, body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields = type.endsWith("credential-change")
    ? ["credential_type", "change_type"]
    : type.endsWith("assurance-level-change")
      ? ["namespace", "current_level", "previous_level", "change_direction"]
      : type.endsWith("token-claims-change")
        ? []
        : ["initiating_entity"];
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = body[f];
    if ((typeof v === "string" && v.length <= 256) || (typeof v === "number" && Number.isFinite(v))) out[f] = v;
  }
  if (type.endsWith("token-claims-change")) {
    const claims = objectOr(body.claims);
    if (claims !== null) out.claims = Object.keys(claims).slice(0, 32).join(" ");
  }
  return out;
}

function listOf(v: string | readonly string[] | undefined): readonly string[] | null {
  return v === undefined ? null : typeof v === "string" ? [v] : v;
}

function objectOr(v: unknown): Readonly<Record<string, unknown>> | null {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function base64url(s: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return "";
  return Buffer.from(s, "base64url").toString("utf8");
}

function headerText(v: unknown): string | undefined {
  return typeof v === "string" ? v : Array.isArray(v) ? v.join(", ") : undefined;
}

/** Reads a Node request's body (no parser ran), at most MAX_SET_BYTES + 1 bytes. */
function readBody(req: { on?(event: string, listener: (chunk?: unknown) => void): unknown }): Promise<Uint8Array> {
  return new Promise((resolve) => {
    if (typeof req.on !== "function") return resolve(new Uint8Array());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c) => {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
      if (size <= MAX_SET_BYTES) chunks.push(b);
      size += b.length;
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", () => resolve(new Uint8Array()));
  });
}
