// A plain-text table as the CLIs and the demo print it: names left-aligned in the first
// columns, numbers right-aligned, each column as wide as its widest cell.

export interface TableOptions {
  /** How many leading columns hold names (left-aligned). */
  names: number;
  /** Least width per column, so a table redrawn as it fills does not jump. */
  minWidths?: number[];
  indent?: string;
}

export function textTable(head: string[], body: string[][], { names, minWidths = [], indent = '' }: TableOptions): string[] {
  const widths = head.map((h, c) => Math.max(h.length, minWidths[c] ?? 0, ...body.map((cells) => cells[c]!.length)));
  const line = (cells: string[]): string =>
    indent + cells.map((v, c) => (c < names ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(head), ...body.map(line)];
}
