/**
 * Redis key names of partitions, and the Cluster slot of a name.
 *
 * A partition `session:s-1` under the prefix `leash:` is the Redis key `leash:{session:s-1}`: the
 * hash tag is the partition key, so partitions spread over the Cluster's slots and a partition's
 * lock (`leash:{session:s-1}#l`) and a transaction's status key (`leash:{session:s-1}#t:<id>`) sit
 * in the slot of their partition. A partition key that itself contains `}` ends its tag early;
 * names stay distinct (data names end in `}`, locks in `#l`, statuses in a token), only the slot is
 * then chosen by the key's first part.
 */

export interface KeyNames {
  /** The Redis key holding a partition. */
  data(key: string): string;
  /** The Redis key holding a cross-slot transaction's lock on a partition (same slot as `data`). */
  lock(key: string): string;
  /** The Redis key recording whether cross-slot transaction `txid` committed (slot of `key`). */
  status(key: string, txid: string): string;
  /** The partition key of a data key name, or null if the name is not one of this prefix. */
  partitionOf(name: string): string | null;
}

/**
 * Key names under `prefix`; with `oneSlot`, every name shares the tag `{prefix}` and so one slot
 * (`{leash:}d:session:s-1`, `{leash:}l:...`, `{leash:}t:<id>`).
 */
export function keyNames(prefix: string, oneSlot: boolean): KeyNames {
  if (/[{}]/.test(prefix)) throw new RangeError("redisStore: the prefix must not contain { or } (it would become the hash tag)");
  if (oneSlot) {
    const head = `{${prefix}}`;
    return {
      data: (k) => `${head}d:${k}`,
      lock: (k) => `${head}l:${k}`,
      status: (_k, id) => `${head}t:${id}`,
      partitionOf: (n) => (n.startsWith(`${head}d:`) ? n.slice(head.length + 2) : null),
    };
  }
  return {
    data: (k) => `${prefix}{${k}}`,
    lock: (k) => `${prefix}{${k}}#l`,
    status: (k, id) => `${prefix}{${k}}#t:${id}`,
    partitionOf: (n) => (n.startsWith(`${prefix}{`) && n.endsWith("}") ? n.slice(prefix.length + 1, -1) : null),
  };
}

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

const encoder = new TextEncoder();

/** The Redis Cluster slot of a key name (CRC16 of its hash tag, or of the whole name, mod 16384). */
export function keySlot(name: string): number {
  const open = name.indexOf("{");
  if (open >= 0) {
    const close = name.indexOf("}", open + 1);
    if (close > open + 1) name = name.slice(open + 1, close);
  }
  return crc16(encoder.encode(name)) & 16383;
}
