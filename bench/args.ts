// Command-line values shared by the benchmark harnesses.

/** A comma-separated `--name a,b` of known names (or `fallback` when absent); throws on an unknown or empty one. */
export function list(name: string, raw: string | undefined, fallback: string[], known: Record<string, unknown>): string[] {
  const items = raw === undefined ? fallback : raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!(i in known)) throw new Error(`--${name}: unknown ${JSON.stringify(i)}; known: ${Object.keys(known).join(', ')}`);
  if (items.length === 0) throw new Error(`--${name} names nothing`);
  return items;
}
