// Parses the subset of JavaScript's regular expression syntax (no flags, Annex B rules)
// that a finite automaton can match, into a small tree. The source has already been
// accepted by V8, so this parser reads valid syntax only; it refuses, with a reason,
// what it does not support: backreferences, lookaround, word boundaries, modifiers.

/** Sorted, disjoint, inclusive [lo, hi] pairs of UTF-16 code units. */
export type Ranges = number[];

export type Node =
  | { k: 'set'; ranges: Ranges }
  | { k: 'cat'; items: Node[] }
  | { k: 'alt'; items: Node[] }
  | { k: 'rep'; node: Node; min: number; max: number }
  | { k: 'bol' }
  | { k: 'eol' }
  | { k: 'empty' };

export class UnsupportedSyntax extends Error {}

const MAX_UNIT = 0xffff;
const DIGIT: Ranges = [0x30, 0x39];
const WORD: Ranges = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE: Ranges = [
  0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f,
  0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
];
const LINE_TERMINATORS: Ranges = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];

export function complement(r: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) out.push(next, r[i]! - 1);
    next = r[i + 1]! + 1;
  }
  if (next <= MAX_UNIT) out.push(next, MAX_UNIT);
  return out;
}

/** Sorts and merges any list of [lo, hi] pairs. */
export function normalize(r: Ranges): Ranges {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i]!, r[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last]! + 1) out[last] = Math.max(out[last]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);

export function parseRegex(src: string): Node {
  let i = 0;
  /** Where the atom being read starts, for messages. */
  let at = 0;

  function refuse(what: string): never {
    throw new UnsupportedSyntax(`${what} (at offset ${at})`);
  }

  function alternation(): Node {
    const items = [sequence()];
    while (src[i] === '|') {
      i++;
      items.push(sequence());
    }
    return items.length === 1 ? items[0]! : { k: 'alt', items };
  }

  function sequence(): Node {
    const items: Node[] = [];
    while (i < src.length && src[i] !== '|' && src[i] !== ')') items.push(quantified(atom()));
    return items.length === 0 ? { k: 'empty' } : items.length === 1 ? items[0]! : { k: 'cat', items };
  }

  function quantified(node: Node): Node {
    for (;;) {
      let min: number;
      let max: number;
      const c = src[i];
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
        if (!m) return node;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        i += m[0].length - 1;
      } else return node;
      i++;
      if (src[i] === '?') i++; // lazy: the same set of whole-path matches
      node = { k: 'rep', node, min, max };
    }
  }

  function atom(): Node {
    at = i;
    const c = src[i]!;
    i++;
    switch (c) {
      case '^': return { k: 'bol' };
      case '$': return { k: 'eol' };
      case '.': return { k: 'set', ranges: complement(LINE_TERMINATORS) };
      case '[': return { k: 'set', ranges: charClass() };
      case '\\': return escape();
      case '(': return group();
      default: return { k: 'set', ranges: [c.charCodeAt(0), c.charCodeAt(0)] };
    }
  }

  function group(): Node {
    if (src[i] === '?') {
      const kind = src.slice(i, i + 3);
      if (kind.startsWith('?:')) i += 2;
      else if (kind === '?<=' || kind === '?<!') refuse('lookbehind (?<= ?<!) cannot be matched in linear time');
      else if (kind.startsWith('?=') || kind.startsWith('?!')) refuse('lookahead (?= ?!) cannot be matched in linear time');
      else if (kind.startsWith('?<')) i = src.indexOf('>', i) + 1;
      else refuse(`the group syntax (${kind} is not supported; use (...), (?:...) or (?<name>...)`);
    }
    const inner = alternation();
    i++; // ')'
    return inner;
  }

  /** An escape outside a class; `\d` and the like become sets. */
  function escape(): Node {
    const c = src[i]!;
    if (c === 'b' || c === 'B') refuse('word boundaries (\\b, \\B) are not supported');
    if (c === 'k') refuse('named backreferences (\\k<name>) cannot be matched in linear time');
    return { k: 'set', ranges: escapedRanges(false) };
  }

  /** The ranges an escape stands for, `i` just after the backslash. */
  function escapedRanges(inClass: boolean): Ranges {
    const c = src[i]!;
    i++;
    const one = (u: number): Ranges => [u, u];
    switch (c) {
      case 'd': return DIGIT;
      case 'D': return complement(DIGIT);
      case 'w': return WORD;
      case 'W': return complement(WORD);
      case 's': return SPACE;
      case 'S': return complement(SPACE);
      case 't': return one(0x09);
      case 'n': return one(0x0a);
      case 'v': return one(0x0b);
      case 'f': return one(0x0c);
      case 'r': return one(0x0d);
      case 'b': return one(0x08); // only reached inside a class
      case 'c': {
        const x = src[i];
        if (x === undefined || !/[a-zA-Z]/.test(x)) refuse('\\c must be followed by a letter');
        i++;
        return one(x.charCodeAt(0) % 32);
      }
      case 'x':
        if (isHex(src[i]) && isHex(src[i + 1])) {
          i += 2;
          return one(parseInt(src.slice(i - 2, i), 16));
        }
        return one(0x78);
      case 'u':
        if ([0, 1, 2, 3].every((k) => isHex(src[i + k]))) {
          i += 4;
          return one(parseInt(src.slice(i - 4, i), 16));
        }
        return one(0x75);
      case '0':
        if (/[0-9]/.test(src[i] ?? '')) refuse('octal escapes are not supported');
        return one(0);
      default:
        if (c >= '1' && c <= '9') refuse(inClass ? 'octal escapes are not supported' : 'backreferences (\\1 to \\9) cannot be matched in linear time');
        return one(c.charCodeAt(0));
    }
  }

  /** `[...]`, `i` just after the `[`. */
  function charClass(): Ranges {
    const negated = src[i] === '^';
    if (negated) i++;
    const ranges: Ranges = [];
    while (src[i] !== ']') {
      const lo = classAtom();
      if (src[i] === '-' && src[i + 1] !== ']' && i + 1 < src.length) {
        i++;
        const hi = classAtom();
        // Annex B: a range with a class escape at either end is its parts and a literal `-`.
        if (lo.length === 2 && hi.length === 2 && lo[0] === lo[1] && hi[0] === hi[1]) ranges.push(lo[0]!, hi[0]!);
        else ranges.push(...lo, ...hi, 0x2d, 0x2d);
      } else ranges.push(...lo);
    }
    i++; // ']'
    const merged = normalize(ranges);
    return negated ? complement(merged) : merged;
  }

  function classAtom(): Ranges {
    const c = src[i]!;
    i++;
    if (c !== '\\') return [c.charCodeAt(0), c.charCodeAt(0)];
    if (src[i] === 'c' && /[0-9_]/.test(src[i + 1] ?? '')) {
      i += 2;
      return [src.charCodeAt(i - 1) % 32, src.charCodeAt(i - 1) % 32];
    }
    // A class escape such as `\d` is never a single [u, u] pair, which is how a range end is told apart.
    return escapedRanges(true);
  }

  const tree = alternation();
  if (i !== src.length) refuse('unexpected character');
  return tree;
}
