/**
 * A persistent map from string keys to entries, stored as plain JSON so a state can be written to
 * any store and read back as is. It is a fixed-depth trie of 16-slot arrays indexed by a 32-bit
 * FNV-1a hash; leaves are flat `[key, entry, key, entry, ...]` arrays. An update copies one path
 * (depth × 16 slots plus one leaf), so the old map stays valid and unchanged.
 *
 * The key cap is enforced per leaf: each leaf holds at most `leafCap` entries, and a new key that
 * lands on a full leaf first drops expired entries there, then evicts the stalest one (an
 * approximate LRU that samples the leaf's entries, as Redis samples keys).
 */
export type PNode = readonly (PNode | null)[] | readonly unknown[];

export interface Timed {
  /** Last time the entry was written. */
  readonly t: number;
  /** Time from which the entry counts as expired. */
  readonly x: number;
}

const FANOUT = 16;
const BITS = 4;

export interface MapShape {
  readonly depth: number;
  readonly leafCap: number;
}

export function mapShape(cap: number): MapShape {
  const depth = Math.max(1, Math.min(7, Math.floor(Math.log(Math.max(cap, 16) / 16) / Math.log(FANOUT))));
  // floor: the leaves together never hold more than `cap` keys (a cap below 16 is raised to 16).
  return { depth, leafCap: Math.max(1, Math.floor(Math.max(cap, FANOUT) / FANOUT ** depth)) };
}

export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Thrown when a stored node does not have the shape this module writes; callers turn it into R303. */
export class CorruptState extends Error {
  override readonly name = "CorruptState";
}

function corrupt(what: string): never {
  throw new CorruptState(what);
}

function leafOf(root: PNode | null, shape: MapShape, h: number): readonly unknown[] | null {
  let node: PNode | null = root;
  for (let level = 0; level < shape.depth; level++) {
    if (node === null) return null;
    if (!Array.isArray(node) || node.length !== FANOUT) corrupt("trie node");
    node = (node as readonly (PNode | null)[])[(h >>> (level * BITS)) & (FANOUT - 1)] ?? null;
  }
  if (node !== null && (!Array.isArray(node) || node.length % 2 !== 0)) corrupt("trie leaf");
  return node as readonly unknown[] | null;
}

/** The live entry for `key` at `now`, or `undefined` (absent or expired). `h` is `hashKey(key)`. */
export function pmapGet<E extends Timed>(root: PNode | null, shape: MapShape, key: string, now: number, h = hashKey(key)): E | undefined {
  const leaf = leafOf(root, shape, h);
  if (leaf === null) return undefined;
  for (let i = 0; i < leaf.length; i += 2) {
    if (leaf[i] === key) {
      const e = leaf[i + 1] as E;
      if (e === null || typeof e !== "object" || typeof e.x !== "number" || typeof e.t !== "number") corrupt("entry");
      return e.x > now ? e : undefined;
    }
  }
  return undefined;
}

/** What a set did to the number of stored entries; `pmapSet` adds to it. */
export interface SetTally {
  /** Change in the number of stored entries (+1 new key, 0 replace, <= 0 when expired ones were dropped). */
  sizeDelta: number;
  /** Live entries evicted to make room. */
  evicted: number;
}

/**
 * A new map with `key` set to `entry`; counts go to `tally` when the caller keeps them. Entries
 * with `x >= NEVER` are never evicted. `h` is `hashKey(key)`.
 */
export function pmapSet(root: PNode | null, shape: MapShape, key: string, entry: Timed, now: number, h = hashKey(key), tally: SetTally = { sizeDelta: 0, evicted: 0 }): PNode {
  return setAt(root, 0, shape, key, entry, now, h, tally);
}

/** The copy of `node` (at `level` of the path to `h`) with the entry set below it. */
function setAt(node: PNode | null, level: number, shape: MapShape, key: string, entry: Timed, now: number, h: number, tally: SetTally): PNode {
  if (level === shape.depth) return setInLeaf(node, shape.leafCap, key, entry, now, tally);
  const arr = node === null ? EMPTY_NODE : (node as readonly (PNode | null)[]);
  if (!Array.isArray(arr) || arr.length !== FANOUT) corrupt("trie node");
  const i = (h >>> (level * BITS)) & (FANOUT - 1);
  const copy = arr.slice();
  copy[i] = setAt(arr[i] ?? null, level + 1, shape, key, entry, now, h, tally);
  return copy;
}

function setInLeaf(node: PNode | null, leafCap: number, key: string, entry: Timed, now: number, tally: SetTally): unknown[] {
  const old = (node ?? EMPTY_LEAF) as readonly unknown[];
  if (!Array.isArray(old) || old.length % 2 !== 0) corrupt("trie leaf");
  const at = indexOfKey(old, key);
  if (at >= 0) {
    const leaf = old.slice();
    leaf[at + 1] = entry;
    return leaf;
  }
  // A copy, not a literal, as every node this module writes: V8 may allocate a literal's arrays
  // straight into the old generation once many of them live long, and an old leaf would keep the
  // entries it points to alive through young-generation collections after they were replaced.
  const leaf = NO_ENTRIES.slice();
  // Drop expired entries while copying; they would read as absent anyway.
  for (let i = 0; i < old.length; i += 2) {
    const e = old[i + 1] as Timed;
    if (e.x > now) leaf.push(old[i], e);
    else tally.sizeDelta--;
  }
  if (leaf.length / 2 >= leafCap) {
    let stalest = -1;
    for (let i = 0; i < leaf.length; i += 2) {
      const e = leaf[i + 1] as Timed;
      if (e.x >= NEVER) continue;
      if (stalest < 0 || e.t < (leaf[stalest + 1] as Timed).t) stalest = i;
    }
    if (stalest >= 0) {
      leaf.splice(stalest, 2);
      tally.evicted++;
      tally.sizeDelta--;
    }
  }
  leaf.push(key, entry);
  tally.sizeDelta++;
  return leaf;
}

/** A new map without `key` (the same map when it is absent). */
export function pmapDelete(root: PNode | null, shape: MapShape, key: string): { root: PNode | null; removed: boolean } {
  const h = hashKey(key);
  const leaf = leafOf(root, shape, h);
  if (leaf === null) return { root, removed: false };
  const at = indexOfKey(leaf, key);
  if (at < 0) return { root, removed: false };
  const next = leaf.slice();
  next.splice(at, 2);
  const path: (readonly (PNode | null)[])[] = [];
  let node = root as readonly (PNode | null)[];
  for (let level = 0; level < shape.depth; level++) {
    path.push(node);
    node = node[(h >>> (level * BITS)) & (FANOUT - 1)] as readonly (PNode | null)[];
  }
  let child: PNode | null = next.length === 0 ? null : next;
  for (let level = shape.depth - 1; level >= 0; level--) {
    const copy = path[level]!.slice();
    copy[(h >>> (level * BITS)) & (FANOUT - 1)] = child;
    child = copy.every((c) => c === null) ? null : copy;
  }
  return { root: child, removed: true };
}

/** Every live entry, for inspection and tests (not on the decision path). */
export function* pmapEntries<E extends Timed>(root: PNode | null, now = -Infinity): Generator<[string, E]> {
  if (root === null) return;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as unknown[];
    if (node.length === FANOUT && node.every((c) => c === null || Array.isArray(c)) && !(typeof node[0] === "string")) {
      for (const c of node) if (c !== null) stack.push(c);
    } else {
      for (let i = 0; i < node.length; i += 2) {
        const e = node[i + 1] as E;
        if (e.x > now) yield [node[i] as string, e];
      }
    }
  }
}

function indexOfKey(leaf: readonly unknown[], key: string): number {
  for (let i = 0; i < leaf.length; i += 2) if (leaf[i] === key) return i;
  return -1;
}

const EMPTY_NODE: readonly (PNode | null)[] = Object.freeze(new Array<PNode | null>(FANOUT).fill(null));
const EMPTY_LEAF: readonly unknown[] = Object.freeze([]);
/** Never written: the source of new leaves. */
const NO_ENTRIES: unknown[] = [];

/** Expiry of entries that never expire (JSON has no Infinity). */
export const NEVER = Number.MAX_SAFE_INTEGER;
