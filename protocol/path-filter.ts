// The path filter: a regular expression that must match the whole request path, as
// Java's Pattern.matches does (`/api` does not match `/api/x`).
//
// V8's regular expressions backtrack, so any client choosing a path could stall the host
// with a filter such as `/(a*){12}`. Filters are matched by a lazy DFA instead
// (regex-dfa.ts), in time linear in the path. What a finite automaton cannot do
// (backreferences, lookaround) is refused when the filter is set, and so are programs
// too large to keep a match of MAX_FILTERED_PATH units cheap: see BENCHMARKS.md.
import { LazyDfa } from './regex-dfa.js';
import { parseRegex, UnsupportedSyntax, type Node } from './regex-parse.js';
import { buildProgram, programSize } from './regex-program.js';

/** Paths longer than this are matched on their first MAX_FILTERED_PATH characters. */
export const MAX_FILTERED_PATH = 2048;
export const MAX_FILTER_SOURCE = 1024;
/** Instructions of a filter's program, counted repeats written out. */
export const MAX_PROGRAM = 4096;
/** The same, for a filter whose DFA is too large to build in full when it is set. */
export const MAX_LAZY_PROGRAM = 32;
/** Work units (LazyDfa.units) building the DFA may cost when a filter is set. */
export const EXPLORE_BUDGET = 500_000;

export type PathMatcher = LazyDfa;
export type CompiledFilter = { matcher: PathMatcher | null; error?: undefined } | { matcher?: undefined; error: string };

// The last filter compiled: validating settings and then applying them (Recorder.apply, the
// agent's start) compile the same source twice, and a compile may cost the whole budget.
let last: { source: string; compiled: CompiledFilter } | null = null;

/**
 * `matcher` is null for a filter that matches everything, so the hot path can skip it.
 * The same source twice in a row gives the same result (and matcher) without building it again.
 */
export function compilePathFilter(source: string): CompiledFilter {
  if (typeof source !== 'string') return { error: 'pathFilter must be a string' };
  if (last === null || last.source !== source) last = { source, compiled: compile(source) };
  return last.compiled;
}

function compile(source: string): CompiledFilter {
  if (source.length > MAX_FILTER_SOURCE) return { error: `pathFilter is longer than ${MAX_FILTER_SOURCE} characters` };
  if (source === '.*') return { matcher: null };
  const shown = JSON.stringify(source);
  try {
    new RegExp(source);
  } catch (err) {
    return { error: `pathFilter ${shown} is not a valid regular expression: ${(err as Error).message}` };
  }
  let tree: Node;
  try {
    tree = parseRegex(source);
  } catch (err) {
    if (!(err instanceof UnsupportedSyntax)) throw err;
    return { error: `pathFilter ${shown} is refused: ${err.message}` };
  }
  const size = programSize(tree);
  if (size > MAX_PROGRAM) {
    return { error: `pathFilter ${shown} is refused: it makes a program of ${size} instructions once counted repeats are written out (at most ${MAX_PROGRAM}); use smaller counts or * and +` };
  }
  const dfa = new LazyDfa(buildProgram(tree));
  if (!dfa.explore(EXPLORE_BUDGET) && size > MAX_LAZY_PROGRAM) {
    return { error: `pathFilter ${shown} is refused: its automaton does not fit in ${dfa.maxStates} states within ${EXPLORE_BUDGET} work units, and its program has ${size} instructions, more than the ${MAX_LAZY_PROGRAM} allowed for such a filter; make it smaller or less ambiguous (fewer .* and counted repeats)` };
  }
  return { matcher: dfa };
}

/** Whether the path, `path` up to `end` (the query excluded), passes the filter. */
export function pathMatches(matcher: PathMatcher | null, path: string, end: number = path.length): boolean {
  if (matcher === null) return true;
  return matcher.matches(path, end < MAX_FILTERED_PATH ? end : MAX_FILTERED_PATH);
}
