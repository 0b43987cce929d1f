// The package's version, which both sides report (the agent in its hello, the collector
// in /v1/overview). Read once from package.json, two levels up from dist/protocol/; never
// throws, since the agent loads it inside the host.
import { readFileSync } from 'node:fs';

export const PACKAGE_VERSION: string = readPackageVersion();

function readPackageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
