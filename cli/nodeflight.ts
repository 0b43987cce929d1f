#!/usr/bin/env node
// `nodeflight <command>`: one module per command beside this one, loaded only when it runs.
import { readFileSync } from 'node:fs';

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
  return (await loadCommand(name, command.load)).main(rest);
}

/**
 * The collector's packages are optional peer dependencies, so that an app that only
 * preloads the agent does not install them; a command that needs one says how to get it.
 */
async function loadCommand<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const missing = /Cannot find package '([^']+)'/.exec((err as Error).message)?.[1];
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { peerDependencies?: object };
    const peers = Object.keys(pkg.peerDependencies ?? {});
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND' || !missing || !peers.includes(missing)) throw err;
    throw new Error(`${name} needs the package ${missing}, which an app that only runs the agent does not install; ` +
      `install the collector's packages with: npm install ${peers.join(' ')}`);
  }
}

run().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`nodeflight: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
