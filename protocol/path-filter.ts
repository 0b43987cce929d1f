// The path filter: a regular expression that must match the whole request path, as
// Java's Pattern.matches does (`/api` does not match `/api/x`).
//
// V8's regular expressions backtrack, and a filter such as `(a+)+$` against a long path
// can stall the host's event loop for seconds. So a filter is checked when it is set:
// patterns whose running time can blow up (a quantifier applied to something that is
// itself quantified or holds an alternation, and backreferences) are refused with a
// reason, and the path handed to the expression is bounded to MAX_FILTERED_PATH.

/** Paths longer than this are matched on their first MAX_FILTERED_PATH characters. */
export const MAX_FILTERED_PATH = 2048;
export const MAX_FILTER_SOURCE = 1024;

export type CompiledFilter = { regex: RegExp | null; error?: undefined } | { regex?: undefined; error: string };

/** `regex` is null for a filter that matches everything, so the hot path can skip it. */
export function compilePathFilter(source: string): CompiledFilter {
  if (typeof source !== 'string') return { error: 'pathFilter must be a string' };
  if (source.length > MAX_FILTER_SOURCE) return { error: `pathFilter is longer than ${MAX_FILTER_SOURCE} characters` };
  if (source === '.*' || source === '') return { regex: source === '' ? /^$/ : null };
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${source})$`);
  } catch (err) {
    return { error: `pathFilter ${JSON.stringify(source)} is not a valid regular expression: ${(err as Error).message}` };
  }
  const unsafe = backtrackingHazard(source);
  if (unsafe) return { error: `pathFilter ${JSON.stringify(source)} is refused: ${unsafe}; it could stall the event loop on a long path` };
  return { regex };
}

export function pathMatches(regex: RegExp | null, path: string): boolean {
  if (regex === null) return true;
  return regex.test(path.length > MAX_FILTERED_PATH ? path.slice(0, MAX_FILTERED_PATH) : path);
}

interface Group { quantified: boolean; alternation: boolean }

/** Returns why a pattern can backtrack super-linearly, or null. Conservative by design. */
function backtrackingHazard(src: string): string | null {
  const stack: Group[] = [{ quantified: false, alternation: false }];
  // What the last atom was: a group we just closed (with its content), or a plain atom.
  let last: Group | null = null;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (ch === '\\') {
      const next = src[i + 1] ?? '';
      if (next >= '1' && next <= '9') return 'backreferences are not allowed';
      if (next === 'k' && src[i + 2] === '<') return 'backreferences are not allowed';
      i++;
      last = { quantified: false, alternation: false };
      continue;
    }
    if (ch === '[') {
      // A character class is one atom; skip to its unescaped closing bracket.
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      i = j;
      last = { quantified: false, alternation: false };
      continue;
    }
    if (ch === '(') {
      stack.push({ quantified: false, alternation: false });
      if (src[i + 1] === '?') {
        // Skip the group's prefix: (?: (?= (?! (?<= (?<! (?<name>
        if (src[i + 2] === '<' && src[i + 3] !== '=' && src[i + 3] !== '!') {
          const end = src.indexOf('>', i);
          i = end === -1 ? i + 1 : end;
        } else {
          i += src[i + 2] === '<' ? 3 : 2;
        }
      }
      last = null;
      continue;
    }
    if (ch === ')') {
      const g = stack.length > 1 ? stack.pop()! : { quantified: false, alternation: false };
      const parent = stack[stack.length - 1]!;
      parent.quantified ||= g.quantified;
      parent.alternation ||= g.alternation;
      last = g;
      continue;
    }
    if (ch === '|') {
      stack[stack.length - 1]!.alternation = true;
      last = null;
      continue;
    }
    const unbounded = ch === '*' || ch === '+' || (ch === '{' && /^\{\d+,\d*\}/.test(src.slice(i)) && !/^\{(\d+),\1\}/.test(src.slice(i)));
    if (unbounded || ch === '?') {
      if (ch === '{') i = src.indexOf('}', i);
      if (src[i + 1] === '?' || src[i + 1] === '+') i++; // lazy or possessive-looking suffix
      if (unbounded && last && (last.quantified || last.alternation)) {
        return last.quantified ? 'a repeated group contains another repetition (nested quantifier)' : 'a repeated group contains an alternation';
      }
      if (unbounded) stack[stack.length - 1]!.quantified = true;
      if (last) last.quantified ||= unbounded;
      last = null;
      continue;
    }
    last = { quantified: false, alternation: false };
  }
  return null;
}
