#!/usr/bin/env node
// `nodeflight <command>`: one module per command beside this one, loaded only when it runs.
const commands: Record<string, { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  collector: { summary: 'run a collector: nodeflight collector [--host H] [--port P] [--token T] [--data-dir DIR]', load: () => import('./collector-cli.js') },
  print: { summary: 'print a recording\'s events: nodeflight print [--json] [--path-filter RE] [--min-ms N] FILE', load: () => import('./print-cli.js') },
  summary: { summary: 'per-route counts and percentiles of a recording: nodeflight summary FILE', load: () => import('./summary-cli.js') },
  merge: { summary: 'exact per-route percentiles over collectors: nodeflight merge [--json] [--service S] [--window 5m] URL [URL ...]', load: () => import('./merge-cli.js') },
};

function usage(): string {
  return ['usage: nodeflight <command> [options]', '', ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`)].join('\n');
}

async function run(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`nodeflight: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  return (await command.load()).main(rest);
}

run().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`nodeflight: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
