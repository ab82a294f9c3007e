import { operandsOf, type ExprIR, type OpIR, type PolicyIR } from "../compile/ir.js";
import { isRecord, MAX_STRING } from "./attributes.js";
import { LIMITS } from "./limits.js";
import { contentHash } from "../compile/hash.js";
import { describeGroup, layoutIdOf } from "./layout.js";
import { registerWidth } from "./operators.js";
import { keyText, MAX_KEY_PARTS } from "./keys.js";

/**
 * Checks that a value read from a compiled policy is an IR the evaluators can run: every field of
 * the type they assume (own properties only, no extra ones), every index pointing at an entry of the
 * right kind, every register layout as `lower` computes it, and every size within the bounds the
 * checker puts on source policies (so no file can make a decision allocate without bound).
 * Returns the first problem as `at PATH: WHAT`, or null.
 */
export function irProblem(value: unknown): string | null {
  try {
    checkIR(value);
    return null;
  } catch (e) {
    if (e instanceof Invalid) return `at ${e.at}: ${e.message}`;
    throw e;
  }
}

const MAX_CAPACITY = LIMITS.maxWindowCapacity;
const MAX_SAMPLES = LIMITS.maxRegularitySamples;
const MAX_STAGES = LIMITS.maxSequenceStages;
const MAX_STEPS = LIMITS.maxWorkflowSteps;
const MAX_INDEX = 2 ** 31;
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

class Invalid extends Error {
  constructor(
    readonly at: string,
    message: string,
  ) {
    super(message);
  }
}

type Check = (v: unknown, at: string) => void;

const fail = (at: string, what: string): never => {
  throw new Invalid(at, `expected ${what}`);
};
/** An object whose content a later check compares with what it must be. */
const isObjectCheck = (v: unknown, at: string): void => void (isRecord(v) ? 0 : fail(at, "an object"));

const str: Check = (v, at) => void (typeof v === "string" && v.length <= MAX_STRING ? 0 : fail(at, "a string"));
const bool: Check = (v, at) => void (typeof v === "boolean" ? 0 : fail(at, "true or false"));
const finite: Check = (v, at) => void (typeof v === "number" && Number.isFinite(v) ? 0 : fail(at, "a finite number"));
const int =
  (min: number, max: number): Check =>
  (v, at) =>
    void (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? 0 : fail(at, `a whole number from ${min} to ${max}`));
/** Milliseconds: durations and windows size no register, so any positive time will do. */
const duration: Check = (v, at) => void (typeof v === "number" && Number.isFinite(v) && v > 0 ? 0 : fail(at, "a positive number of milliseconds"));
const ttl: Check = (v, at) => void (typeof v === "number" && Number.isFinite(v) && v >= 0 ? 0 : fail(at, "a number of milliseconds"));
const oneOf =
  (...values: readonly (string | number | boolean)[]): Check =>
  (v, at) =>
    void (values.includes(v as string) ? 0 : fail(at, `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`));
const nullable =
  (c: Check): Check =>
  (v, at) =>
    v === null ? undefined : c(v, at);
const list =
  (c: Check): Check =>
  (v, at) => {
    if (!Array.isArray(v)) fail(at, "a list");
    (v as unknown[]).forEach((x, i) => c(x, `${at}[${i}]`));
  };
/** An object with exactly these own properties. */
const record =
  (shape: Readonly<Record<string, Check>>): Check =>
  (v, at) => {
    if (!isRecord(v)) return fail(at, "an object");
    for (const k of Object.keys(v)) if (!Object.prototype.hasOwnProperty.call(shape, k)) throw new Invalid(`${at}.${k}`, "no such field");
    for (const [k, c] of Object.entries(shape)) {
      if (!Object.prototype.hasOwnProperty.call(v, k)) throw new Invalid(`${at}.${k}`, "missing field");
      c(v[k], `${at}.${k}`);
    }
  };
/** One of several record shapes, told apart by the string in field `tag`. */
const tagged =
  (tag: string, shapes: Readonly<Record<string, Readonly<Record<string, Check>>>>): Check =>
  (v, at) => {
    const kind = isRecord(v) ? v[tag] : undefined;
    if (typeof kind !== "string" || !Object.prototype.hasOwnProperty.call(shapes, kind)) return fail(`${at}.${tag}`, `one of ${Object.keys(shapes).join(", ")}`);
    record({ [tag]: oneOf(kind), ...shapes[kind] })(v, at);
  };

/** A whole number from 0 to 2^31: an index into one of the IR's tables (`checkIR` checks which), an offset, a slot. */
const nat = int(0, MAX_INDEX);
/** A line or column: from 1. */
const position = int(1, MAX_INDEX);
const segments = list(str);
const patterns = list(segments);
const scalar: Check = (v, at) => void (typeof v === "string" ? str(v, at) : typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)) ? 0 : fail(at, "a string, number or boolean"));
const span = record({ file: str, offset: nat, endOffset: nat, line: position, column: position, endLine: position, endColumn: position });
const root = oneOf("principal", "resource", "context", "action");
const path = record({ root, segments, text: str, span });
const keyPart = tagged("kind", { session: {}, principal: {}, path: { root, segments, text: str } });
const key = tagged("kind", {
  session: {},
  principal: {},
  path: { root, segments, text: str },
  compound: { parts: (v, at) => (list(keyPart)(v, at), (v as unknown[]).length >= 2 && (v as unknown[]).length <= MAX_KEY_PARTS ? undefined : fail(at, `2 to ${MAX_KEY_PARTS} parts`)), text: str },
});
const events = record({ filter: oneOf("happened", "allowed", "attempted", "denied", "signal"), patterns });
const opBase = { index: nat, group: nat, slot: nat, signature: str, id: str };
const op = tagged("op", {
  after: { ...opBase, events, window: nullable(duration), until: nullable(events) },
  since: { ...opBase, events },
  gap: { ...opBase, events },
  count: { ...opBase, events, window: duration, capacity: int(1, MAX_CAPACITY + 1) },
  distinct: { ...opBase, events: nullable(events), attribute: path, window: duration, capacity: int(1, MAX_CAPACITY) },
  rate: { ...opBase, events, limit: int(1, MAX_COUNT), per: duration },
  regularity: { ...opBase, events, samples: int(2, MAX_SAMPLES) },
  sequence: { ...opBase, stages: (v, at) => (list(events)(v, at), (v as unknown[]).length >= 1 && (v as unknown[]).length <= MAX_STAGES ? undefined : fail(at, `1 to ${MAX_STAGES} stages`)), window: duration, until: nullable(events) },
  workflow: { ...opBase, workflow: nat },
  limit: { ...opBase, rule: nat, count: int(1, MAX_COUNT), window: nullable(duration) },
  distinctLimit: { ...opBase, rule: nat, count: int(1, MAX_CAPACITY), window: nullable(duration), attribute: path },
  grant: { ...opBase, rule: nat, duration: duration },
  labels: opBase,
});

/** Expressions nest as deep as their source did: checked with a work list instead of recursion. */
const expr: Check = (v, at) => {
  const work: [unknown, string][] = [[v, at]];
  const sub: Check = (x, a) => void work.push([x, a]);
  const shapes = {
    lit: { value: scalar, span },
    set: { values: list(scalar), span },
    path: { path, span },
    and: { left: sub, right: sub, span },
    or: { left: sub, right: sub, span },
    not: { operand: sub, span },
    cmp: { op: oneOf("==", "!=", "<", "<=", ">", ">="), left: sub, right: sub, span },
    in: { element: sub, collection: sub, span },
    like: { subject: sub, pattern: str, span },
    has: { root, segments, span },
    label: { label: nat, op: nat, span },
    op: { op: nat, current: bool, span },
  };
  for (let item = work.pop(); item !== undefined; item = work.pop()) tagged("t", shapes)(item[0], item[1]);
};

const rule = record({
  index: nat,
  id: str,
  span,
  effect: oneOf("allow", "challenge", "deny", "revoke", "flag"),
  actions: patterns,
  signals: patterns,
  principals: list(record({ kind: nullable(str), id: nullable(str), attributes: list(record({ name: str, value: scalar })) })),
  resources: list(str),
  condition: nullable(expr),
  reason: nullable(str),
  limit: nullable(nat),
  grant: nullable(nat),
  labels: list(record({ label: nat, duration: nullable(duration) })),
  labelsOp: nullable(nat),
  obligation: nullable(record({ kind: str, satisfiedBy: list(str) })),
  revokeTarget: nullable(key),
  reads: list(str),
  workflow: nullable(nat),
});

const mask = int(0, MAX_INDEX - 1);
const workflow = record({
  index: nat,
  name: str,
  span,
  op: nat,
  positions: (v, at) => (list(patterns)(v, at), (v as unknown[]).length >= 1 && (v as unknown[]).length <= MAX_STEPS ? undefined : fail(at, `1 to ${MAX_STEPS} steps`)),
  scope: nullable(patterns),
  first: mask,
  follow: list(mask),
  accepting: mask,
});

const policy = record({
  rules: list(rule),
  ops: list(op),
  keyGroups: list(
    record({ index: nat, key, text: str, ttl, slots: nat, ops: list(nat), lifetime: bool, layout: isObjectCheck, layoutId: str }),
  ),
  workflows: list(workflow),
  labels: list(str),
  actions: list(record({ name: str, segments, high: bool })),
  hasActionsBlock: bool,
  revokeTargets: list(key),
  sessionGroup: nat,
  principalGroup: nat,
  targetGroups: list(nat),
  secrets: list(str),
});

function checkIR(value: unknown): asserts value is PolicyIR {
  policy(value, "ir");
  const ir = value as PolicyIR;
  const at = (where: string, ok: boolean, what: string) => void (ok ? 0 : fail(where, what));
  const opOf = (i: number | null, kind: OpIR["op"], where: string) => at(where, i === null || ir.ops[i]?.op === kind, `the nat of a ${kind} operator`);

  ir.rules.forEach((r, i) => {
    at(`ir.rules[${i}].index`, r.index === i, `${i}`);
    at(`ir.rules[${i}].limit`, r.limit === null || ir.ops[r.limit]?.op === "limit" || ir.ops[r.limit]?.op === "distinctLimit", "the nat of a limit operator");
    opOf(r.grant, "grant", `ir.rules[${i}].grant`);
    opOf(r.labelsOp, "labels", `ir.rules[${i}].labelsOp`);
    at(`ir.rules[${i}].labelsOp`, (r.labels.length > 0) === (r.labelsOp !== null), "a labels operator exactly when the rule sets labels");
    r.labels.forEach((l, j) => at(`ir.rules[${i}].labels[${j}].label`, l.label < ir.labels.length, "the nat of a label"));
    at(`ir.rules[${i}].workflow`, r.workflow === null || r.workflow < ir.workflows.length, "the nat of a workflow");
    if (r.condition !== null) checkRefs(r.condition, ir, `ir.rules[${i}].condition`);
  });
  // Register layout: each operator's slots follow the previous operator's of its group.
  const slots = ir.keyGroups.map(() => 0);
  ir.ops.forEach((o, i) => {
    at(`ir.ops[${i}].index`, o.index === i, `${i}`);
    at(`ir.ops[${i}].group`, o.group < ir.keyGroups.length, "the nat of a key group");
    at(`ir.ops[${i}].slot`, o.slot === slots[o.group], `slot ${slots[o.group]}`);
    slots[o.group]! += registerWidth(o, ir.labels.length);
    if (o.op === "workflow") at(`ir.ops[${i}].workflow`, ir.workflows[o.workflow]?.op === i, "a workflow that reads this operator");
    if (o.op === "limit" || o.op === "distinctLimit" || o.op === "grant") at(`ir.ops[${i}].rule`, o.rule < ir.rules.length, "the nat of a rule");
    if (o.op === "limit" && o.window !== null) at(`ir.ops[${i}].count`, o.count <= MAX_CAPACITY, `at most ${MAX_CAPACITY} uses in a window`);
  });
  ir.ops.forEach((o, i) => at(`ir.ops[${i}].id`, o.id === contentHash(o.signature), "the content hash of its signature"));
  ir.keyGroups.forEach((g, i) => {
    at(`ir.keyGroups[${i}].index`, g.index === i, `${i}`);
    at(`ir.keyGroups[${i}].slots`, g.slots === slots[i], `${slots[i]} slots (the widths of its operators)`);
    // What partitions of the group mean is derived from its operators: recomputed, never trusted.
    const own = ir.ops.filter((o) => o.group === i);
    at(`ir.keyGroups[${i}].ops`, g.ops.length === own.length && g.ops.every((x, j) => x === own[j]!.index), "the indices of the group's operators, in slot order");
    at(`ir.keyGroups[${i}].lifetime`, g.lifetime === own.some(windowless), `${own.some(windowless)} (whether an operator has no window)`);
    const layout = describeGroup(g.text, g.slots, own, ir.labels);
    at(`ir.keyGroups[${i}].layout`, JSON.stringify(g.layout) === JSON.stringify(layout), "the layout its operators describe");
    at(`ir.keyGroups[${i}].layoutId`, g.layoutId === layoutIdOf(layout), "the hash of its layout");
    at(`ir.keyGroups[${i}].text`, g.text === keyText(g.key), "the text of its key");
  });
  const groupOf = (text: string) => ir.keyGroups.findIndex((g) => g.text === text);
  at("ir.sessionGroup", ir.sessionGroup === groupOf("session"), "the session group");
  at("ir.principalGroup", ir.principalGroup === groupOf("principal"), "the principal group");
  at("ir.targetGroups", ir.targetGroups.length === ir.revokeTargets.length && ir.revokeTargets.every((t, j) => ir.targetGroups[j] === groupOf(keyText(t))), "the group of each revoke target");
  ir.workflows.forEach((w, i) => {
    at(`ir.workflows[${i}].index`, w.index === i, `${i}`);
    opOf(w.op, "workflow", `ir.workflows[${i}].op`);
    at(`ir.workflows[${i}].follow`, w.follow.length === w.positions.length, "one entry per step");
  });
}

/** Whether an operator holds state without a window (its group then lives `keyTtlMs` after a read). */
function windowless(o: OpIR): boolean {
  switch (o.op) {
    case "after":
    case "limit":
    case "distinctLimit":
      return o.window === null;
    case "since":
    case "gap":
    case "regularity":
    case "workflow":
    case "grant":
    case "labels":
      return true;
    default:
      return false;
  }
}

/** Operator and label references in a condition point at entries of the right kind. */
function checkRefs(e: ExprIR, ir: PolicyIR, at: string): void {
  const work: ExprIR[] = [e];
  for (let x = work.pop(); x !== undefined; x = work.pop()) {
    if (x.t === "op" && x.op >= ir.ops.length) fail(at, "operator indices within the operator table");
    if (x.t === "label" && (x.label >= ir.labels.length || ir.ops[x.op]?.op !== "labels")) fail(at, "label reads of a declared label through the labels operator");
    work.push(...operandsOf(x));
  }
}
