/**
 * Mixed-script detection for names (L006): `pаypal` with a Cyrillic `а` looks like `paypal` but is
 * another name. Following UTS #39 ("highly restrictive"), a name is written in one script, or in Latin
 * with the CJK combinations Japanese, Chinese and Korean use. Letters of the Common and Inherited
 * scripts (e.g. `µ`) and digits, `_`, `-` go with any script.
 */

const SCRIPT_NAMES = [
  "Latin", "Greek", "Cyrillic", "Armenian", "Hebrew", "Arabic", "Syriac", "Thaana", "Nko", "Samaritan",
  "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada", "Malayalam",
  "Sinhala", "Thai", "Lao", "Tibetan", "Myanmar", "Georgian", "Hangul", "Ethiopic", "Cherokee",
  "Canadian_Aboriginal", "Ogham", "Runic", "Tagalog", "Khmer", "Mongolian", "Hiragana", "Katakana",
  "Bopomofo", "Han", "Yi", "Coptic", "Glagolitic", "Tifinagh", "Vai", "Bamum", "Javanese", "Balinese",
  "Sundanese", "Osage", "Adlam", "Deseret", "Gothic", "Old_Italic", "Lisu", "Tai_Le", "Limbu",
  "Buginese", "Lepcha", "Ol_Chiki", "Saurashtra", "Kayah_Li", "Rejang", "Cham", "Tai_Tham", "Tai_Viet",
  "Meetei_Mayek", "Brahmi", "Chakma", "Sharada", "Takri", "Mende_Kikakui", "Warang_Citi", "Old_Turkic",
] as const;

/** Each script's letters as a single-code-point test (all linear; tested against one code point). */
const SCRIPT_TESTS = SCRIPT_NAMES.map((name) => ({ name, re: new RegExp(`^\\p{Script=${name}}$`, "u") }));
const NEUTRAL = /^[\p{Script=Common}\p{Script=Inherited}]$/u;
const LETTER = /^\p{L}$/u;
const NON_ASCII = /[^\x00-\x7f]/;

/** Allowed combinations of several scripts in one name (UTS #39 highly restrictive). */
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ["Latin", "Han", "Hiragana", "Katakana"],
  ["Latin", "Han", "Bopomofo"],
  ["Latin", "Han", "Hangul"],
];

const scriptCache = new Map<number, string | null>();
const oneScriptCache = new Map<string, RegExp>();

/** Matches a name whose letters are all of `script` (or Common/Inherited). */
function oneScript(script: string): RegExp {
  let re = oneScriptCache.get(script);
  if (re === undefined) {
    // One character class (no alternation), so the match is linear.
    re = new RegExp(`^[\\P{L}\\p{Script=${script}}\\p{Script=Common}\\p{Script=Inherited}]*$`, "u");
    oneScriptCache.set(script, re);
  }
  return re;
}

/** The script of a letter, `null` for Common/Inherited letters, `"Other"` for a script not listed. */
function scriptOf(codePoint: number): string | null {
  const cached = scriptCache.get(codePoint);
  if (cached !== undefined) return cached;
  const ch = String.fromCodePoint(codePoint);
  let script: string | null = "Other";
  if (NEUTRAL.test(ch)) script = null;
  else {
    for (const s of SCRIPT_TESTS) {
      if (s.re.test(ch)) {
        script = s.name;
        break;
      }
    }
  }
  if (scriptCache.size < 65_536) scriptCache.set(codePoint, script);
  return script;
}

export interface MixedScript {
  /** UTF-16 index in the name of the first letter whose script differs from the first letter's. */
  readonly index: number;
  readonly length: number;
  readonly scripts: readonly string[];
}

const isAsciiLetter = (cp: number) => (cp | 0x20) >= 0x61 && (cp | 0x20) <= 0x7a;

/** Where `name` mixes scripts, or `null` when it is written in one script (or an allowed mix). */
export function findMixedScript(name: string): MixedScript | null {
  if (!NON_ASCII.test(name)) return null; // ASCII letters are all Latin
  // The common case in one pass: every letter in the script of the first one.
  const first = /\p{L}/u.exec(name);
  const firstScript = first === null ? null : scriptOf(first[0].codePointAt(0)!);
  if (first === null || (firstScript !== null && firstScript !== "Other" && oneScript(firstScript).test(name))) return null;
  const seen: string[] = [];
  let firstOther = -1;
  let firstOtherLength = 1;
  for (let i = 0; i < name.length; ) {
    const cp = name.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const script = cp < 0x80 ? (isAsciiLetter(cp) ? "Latin" : null) : LETTER.test(String.fromCodePoint(cp)) ? scriptOf(cp) : null;
    if (script !== null && !seen.includes(script)) {
      if (seen.length > 0 && firstOther < 0) {
        firstOther = i;
        firstOtherLength = width;
      }
      seen.push(script);
    }
    i += width;
  }
  if (seen.length <= 1) return null;
  if (ALLOWED_MIXES.some((mix) => seen.every((s) => mix.includes(s)))) return null;
  return { index: firstOther, length: firstOtherLength, scripts: seen };
}
