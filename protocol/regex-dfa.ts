// A lazy DFA over a Thompson program, as RE2 does it: a DFA state is the set of Char
// instructions the NFA can be in, built on first use and cached in a table of fixed size.
// Each input unit costs one table lookup when the transition is cached, and at most one
// pass over the program when it is not, so matching is linear in the path whatever the
// filter. When the cache is full it is cleared and refilled. Nothing is allocated per match.
//
// Code units are mapped to classes first (units no set tells apart share a class), so a
// state's row has one entry per class.
import { Op, type Program } from './regex-program.js';
import type { Ranges } from './regex-parse.js';

/** Transition-table entries (4 bytes each) and states a DFA may hold. */
const TABLE_ENTRIES = 1 << 17;
const MAX_STATES = 4096;
const POOL_ENTRIES = 1 << 17;
const UNKNOWN = -1;
const DEAD = 0;

export class LazyDfa {
  private readonly op: Uint8Array;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  /** Class of each unit below 256, and the first unit of each class for the others. */
  private readonly narrow = new Uint16Array(256);
  private readonly bounds: Int32Array;
  readonly classes: number;
  /** `member[set * classes + class]` is 1 when the class is in the set. */
  private readonly member: Uint8Array;

  private trans: Int32Array;
  private accepting: Uint8Array;
  private setStart: Int32Array;
  private pool: Int32Array;
  private hashOf: Int32Array;
  private slots: Int32Array;
  readonly maxStates: number;
  private readonly poolLimit: number;
  states = 0;
  /** Row of the start state; every reset gives it the same one. */
  private startRow = 0;
  private readonly startList: Int32Array;
  private readonly startAccepting: number;
  /** Times the cache was full and cleared. */
  resets = 0;
  /** Instructions visited building states (the cost of cache misses). */
  work = 0;
  /**
   * Everything building costs, in units of about one visit: closure visits, the scan of each
   * state's list, hashing and comparing lists, and every table entry allocated, filled or copied.
   */
  units = 0;

  // Scratch for building one state.
  private readonly mark: Int32Array;
  private readonly endMark: Int32Array;
  private gen = 0;
  private readonly stack: Int32Array;
  private readonly endStack: Int32Array;
  private readonly bits: Uint32Array;
  private readonly list: Int32Array;
  private lowWord = 0;
  private highWord = -1;

  constructor(program: Program) {
    const { op, x, y, sets } = program;
    this.op = op;
    this.x = x;
    this.y = y;
    const n = op.length;
    this.bounds = classBounds(sets);
    this.classes = this.bounds.length;
    for (let c = 0; c < 256; c++) this.narrow[c] = this.wideClass(c);
    this.member = new Uint8Array(sets.length * this.classes);
    sets.forEach((r, s) => {
      for (let i = 0; i < r.length; i += 2) {
        for (let k = this.wideClass(r[i]!); k <= this.wideClass(r[i + 1]!); k++) this.member[s * this.classes + k] = 1;
      }
    });
    this.mark = new Int32Array(n);
    this.endMark = new Int32Array(n);
    this.stack = new Int32Array(2 * n + 2);
    this.endStack = new Int32Array(2 * n + 2);
    this.bits = new Uint32Array((n >>> 5) + 1);
    this.list = new Int32Array(n);

    this.maxStates = Math.max(3, Math.min(MAX_STATES, Math.floor(TABLE_ENTRIES / this.classes)));
    this.trans = new Int32Array(Math.min(this.maxStates, 64) * this.classes).fill(UNKNOWN);
    this.accepting = new Uint8Array(this.maxStates);
    this.setStart = new Int32Array(this.maxStates + 1);
    this.poolLimit = Math.max(POOL_ENTRIES, 3 * n);
    this.pool = new Int32Array(Math.min(this.poolLimit, 4 * n + 64));
    this.hashOf = new Int32Array(this.maxStates);
    this.slots = new Int32Array(1 << Math.ceil(Math.log2(2 * this.maxStates)));
    this.units += 4 * n + 256 + this.member.length + this.trans.length + this.pool.length + this.slots.length;

    this.gen++;
    this.stack[0] = program.start;
    const accepting = this.closure(1, true);
    this.startAccepting = accepting;
    this.startList = this.list.slice(0, this.collect());
    this.addInitialStates();
  }

  /** Whether the first `end` units of `s` are matched as a whole. */
  matches(s: string, end: number): boolean {
    const { narrow } = this;
    let trans = this.trans;
    let row = this.startRow;
    for (let i = 0; i < end; i++) {
      const c = s.charCodeAt(i);
      const k = c < 256 ? narrow[c]! : this.wideClass(c);
      let next = trans[row + k]!;
      if (next <= DEAD) {
        if (next === DEAD) return false;
        next = this.miss(row, k);
        trans = this.trans; // a miss may have grown it
        if (next === DEAD) return false;
      }
      row = next;
    }
    return this.accepting[row / this.classes] === 1;
  }

  /**
   * Builds every state reachable from the start, while the cache holds them all and the
   * work stays within `budget`; true when the DFA is complete (matching never misses).
   */
  explore(budget: number): boolean {
    const { classes } = this;
    for (let q = 0; q < this.states; q++) {
      for (let k = 0; k < classes; k++) {
        this.units++;
        if (this.trans[q * classes + k] !== UNKNOWN) continue;
        this.miss(q * classes, k);
        if (this.resets > 0 || this.units > budget) return false;
      }
    }
    this.shrink();
    return true;
  }

  /** Bytes its tables hold: bounded by TABLE_ENTRIES, POOL_ENTRIES and the program's size. */
  get bytes(): number {
    const tables = [this.op, this.x, this.y, this.narrow, this.bounds, this.member, this.startList, this.trans, this.accepting,
      this.setStart, this.pool, this.hashOf, this.slots, this.mark, this.endMark, this.stack, this.endStack, this.bits, this.list];
    return tables.reduce((n, a) => n + a.byteLength, 0);
  }

  private wideClass(c: number): number {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (b[mid]! <= c) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The state after class `k` from the state at `row`, built and cached. */
  private miss(row: number, k: number): number {
    const { classes, x, y, member } = this;
    const q = row / classes;
    this.nextGen();
    const { pool, stack } = this;
    let sp = 0;
    const start = this.setStart[q]!;
    const end = this.setStart[q + 1]!;
    for (let i = start; i < end; i++) {
      const pc = pool[i]!;
      if (member[y[pc]! * classes + k] === 1) stack[sp++] = x[pc]!;
    }
    this.units += end - start + 1;
    const accepting = this.closure(sp, false);
    const len = this.collect();
    let next = this.find(accepting, len);
    if (next === -1) {
      if (!this.room(len)) {
        this.reset();
        next = this.add(accepting, this.list, len);
        return next * classes;
      }
      next = this.add(accepting, this.list, len);
    }
    this.trans[row + k] = next * classes;
    return next * classes;
  }

  /**
   * Whether one more state of `len` entries fits, growing the tables (by doubling, a bounded
   * number of times) while they are below their limits.
   */
  private room(len: number): boolean {
    const need = this.setStart[this.states]! + len;
    if (this.states === this.maxStates || need > this.poolLimit) return false;
    if (this.states * this.classes === this.trans.length) {
      const grown = new Int32Array(Math.min(this.maxStates, 2 * this.states) * this.classes).fill(UNKNOWN);
      grown.set(this.trans);
      this.trans = grown;
      this.units += grown.length;
    }
    if (need > this.pool.length) {
      const grown = new Int32Array(Math.min(this.poolLimit, Math.max(need, 2 * this.pool.length)));
      grown.set(this.pool);
      this.pool = grown;
      this.units += grown.length;
    }
    return true;
  }

  /**
   * Adds to `bits` every Char reachable without input from the first `sp` entries of
   * `stack`; returns 1 if Match is.
   */
  private closure(sp: number, atStart: boolean): number {
    const { op, x, y, mark, stack, gen, bits } = this;
    let accepting = 0;
    let visited = 0;
    let low = this.lowWord;
    let high = this.highWord;
    while (sp > 0) {
      const pc = stack[--sp]!;
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      visited++;
      switch (op[pc]) {
        case Op.Char: {
          const w = pc >>> 5;
          bits[w]! |= 1 << (pc & 31);
          if (w < low) low = w;
          if (w > high) high = w;
          break;
        }
        case Op.Split:
          stack[sp++] = y[pc]!;
          stack[sp++] = x[pc]!;
          break;
        case Op.Bol:
          if (atStart) stack[sp++] = x[pc]!;
          break;
        case Op.Eol:
          if (accepting === 0) accepting = this.endClosure(x[pc]!, atStart);
          break;
        default:
          accepting = 1;
      }
    }
    this.lowWord = low;
    this.highWord = high;
    this.work += visited;
    this.units += visited;
    return accepting;
  }

  /** After `$`: only input's end may follow, so 1 if Match is reachable without input. */
  private endClosure(pc: number, atStart: boolean): number {
    const { op, x, y, endMark, endStack, gen } = this;
    let sp = 0;
    endStack[sp++] = pc;
    while (sp > 0) {
      pc = endStack[--sp]!;
      if (endMark[pc] === gen) continue;
      endMark[pc] = gen;
      this.work++;
      this.units++;
      const o = op[pc];
      if (o === Op.Match) return 1;
      if (o === Op.Split) endStack[sp++] = y[pc]!;
      if (o === Op.Split || o === Op.Eol || (o === Op.Bol && atStart)) endStack[sp++] = x[pc]!;
    }
    return 0;
  }

  /** Moves the marked Chars from `bits` into `list`, sorted, and clears `bits`; returns the count. */
  private collect(): number {
    const { bits, list } = this;
    let len = 0;
    for (let w = this.lowWord; w <= this.highWord; w++) {
      let v = bits[w]!;
      bits[w] = 0;
      while (v !== 0) {
        const low = v & -v;
        list[len++] = (w << 5) + (31 - Math.clz32(low));
        v ^= low;
      }
    }
    this.units += len + Math.max(0, this.highWord - this.lowWord + 1);
    this.lowWord = bits.length;
    this.highWord = -1;
    return len;
  }

  private nextGen(): void {
    if (++this.gen === 0x7fffffff) {
      this.mark.fill(0);
      this.endMark.fill(0);
      this.gen = 1;
    }
  }

  private hash(accepting: number, list: Int32Array, len: number): number {
    let h = 0x811c9dc5 ^ accepting;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ list[i]!, 0x01000193);
    this.units += len;
    return h ^ (h >>> 15);
  }

  private find(accepting: number, len: number): number {
    const { list, pool, slots, setStart } = this;
    const h = this.hash(accepting, list, len);
    const mask = slots.length - 1;
    for (let i = h & mask; slots[i] !== 0; i = (i + 1) & mask) {
      this.units++;
      const q = slots[i]! - 1;
      const start = setStart[q]!;
      if (this.hashOf[q] !== h || this.accepting[q] !== accepting || setStart[q + 1]! - start !== len) continue;
      let j = 0;
      while (j < len && pool[start + j] === list[j]) j++;
      this.units += j;
      if (j === len) return q;
    }
    return -1;
  }

  private add(accepting: number, list: Int32Array, len: number): number {
    const q = this.states++;
    const start = this.setStart[q]!;
    for (let i = 0; i < len; i++) this.pool[start + i] = list[i]!;
    this.units += len;
    this.setStart[q + 1] = start + len;
    this.accepting[q] = accepting;
    const h = this.hash(accepting, list, len);
    this.hashOf[q] = h;
    const mask = this.slots.length - 1;
    let i = h & mask;
    while (this.slots[i] !== 0) {
      i = (i + 1) & mask;
      this.units++;
    }
    this.slots[i] = q + 1;
    return q;
  }

  /** Dead state (row 0, every class loops to it) and the start state. */
  private addInitialStates(): void {
    this.add(0, this.list, 0);
    this.trans.fill(DEAD, 0, this.classes);
    const { startList } = this;
    const found = startList.length === 0 && this.startAccepting === 0;
    this.startRow = found ? DEAD : this.add(this.startAccepting, startList, startList.length) * this.classes;
  }

  private reset(): void {
    this.resets++;
    this.units += this.states * this.classes + this.slots.length;
    this.trans.fill(UNKNOWN, 0, this.states * this.classes);
    this.slots.fill(0);
    this.states = 0;
    this.addInitialStates();
  }

  /** A complete DFA keeps only the rows it has (the hash slots stay: they are small). */
  private shrink(): void {
    const rows = this.states * this.classes;
    this.units += rows + this.setStart[this.states]!;
    this.trans = this.trans.slice(0, rows);
    this.accepting = this.accepting.slice(0, this.states);
    this.setStart = this.setStart.slice(0, this.states + 1);
    this.pool = this.pool.slice(0, this.setStart[this.states]);
    this.hashOf = this.hashOf.slice(0, this.states);
  }
}

/** The first unit of each class: every boundary where some set starts or stops. */
function classBounds(sets: Ranges[]): Int32Array {
  const points = new Set<number>([0]);
  for (const r of sets) {
    for (let i = 0; i < r.length; i += 2) {
      points.add(r[i]!);
      if (r[i + 1]! < 0xffff) points.add(r[i + 1]! + 1);
    }
  }
  return Int32Array.from([...points].sort((a, b) => a - b));
}
