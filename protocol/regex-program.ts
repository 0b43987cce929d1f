// Turns a parsed expression into a Thompson program: one instruction per character set,
// split or assertion, counted repeats written out. Its size is checked before anything
// is built, so a filter such as `((a{1000}){1000}){1000}` is refused without cost.
import type { Node, Ranges } from './regex-parse.js';

export const enum Op { Match = 0, Char = 1, Split = 2, Bol = 3, Eol = 4 }

export interface Program {
  /** Op of each instruction; instruction 0 is the Match. */
  op: Uint8Array;
  /** Next instruction (the first branch of a Split). */
  x: Int32Array;
  /** A Split's second branch; a Char's set index. */
  y: Int32Array;
  start: number;
  sets: Ranges[];
}

/** Exact instruction count of a tree, counted repeats included (may be huge, never built). */
export function programSize(node: Node): number {
  switch (node.k) {
    case 'set': case 'bol': case 'eol': return 1;
    case 'empty': return 0;
    case 'cat': return node.items.reduce((n, it) => n + programSize(it), 0);
    case 'alt': return node.items.reduce((n, it) => n + programSize(it), node.items.length - 1);
    case 'rep': {
      const s = programSize(node.node);
      return node.min * s + (node.max === Infinity ? s + 1 : (node.max - node.min) * (s + 1));
    }
  }
}

/** Builds the program of a tree whose programSize() the caller has bounded. */
export function buildProgram(root: Node): Program {
  const size = programSize(root) + 1;
  const op = new Uint8Array(size);
  const x = new Int32Array(size);
  const y = new Int32Array(size);
  const sets: Ranges[] = [];
  const setIds = new Map<string, number>();
  let n = 1; // 0: Match

  function emit(o: Op, next: number, other: number): number {
    op[n] = o;
    x[n] = next;
    y[n] = other;
    return n++;
  }

  function setId(r: Ranges): number {
    const key = r.join(',');
    let id = setIds.get(key);
    if (id === undefined) {
      id = sets.push(r) - 1;
      setIds.set(key, id);
    }
    return id;
  }

  // Compiled back to front: each part is given the instruction that follows it.
  function compile(node: Node, next: number): number {
    switch (node.k) {
      case 'set': return emit(Op.Char, next, setId(node.ranges));
      case 'bol': return emit(Op.Bol, next, 0);
      case 'eol': return emit(Op.Eol, next, 0);
      case 'empty': return next;
      case 'cat':
        for (let i = node.items.length - 1; i >= 0; i--) next = compile(node.items[i]!, next);
        return next;
      case 'alt': {
        let entry = compile(node.items[node.items.length - 1]!, next);
        for (let i = node.items.length - 2; i >= 0; i--) entry = emit(Op.Split, compile(node.items[i]!, next), entry);
        return entry;
      }
      case 'rep': {
        let entry: number;
        if (node.max === Infinity) {
          const loop = emit(Op.Split, 0, next);
          x[loop] = compile(node.node, loop);
          entry = loop;
        } else {
          entry = next;
          for (let i = node.min; i < node.max; i++) entry = emit(Op.Split, compile(node.node, entry), next);
        }
        for (let i = 0; i < node.min; i++) entry = compile(node.node, entry);
        return entry;
      }
    }
  }

  const start = compile(root, 0);
  return { op: op.subarray(0, n), x: x.subarray(0, n), y: y.subarray(0, n), start, sets };
}
