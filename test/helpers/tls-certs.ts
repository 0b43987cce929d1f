// A private CA and a server certificate it signed (SAN 127.0.0.1 and localhost), plus an
// unrelated CA, made with the system's openssl into a temporary folder, as an operator would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** Paths of the PEM files. */
  caFile: string;
  otherCaFile: string;
  certFile: string;
  keyFile: string;
  /** The same as text. */
  ca: string;
  cert: string;
  key: string;
  remove(): void;
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-tls-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=nodeflight test ${ca}`,
      '-keyout', at(`${ca}.key`), '-out', at(`${ca}.pem`), '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  }
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', at('server.key'), '-out', at('server.csr'));
  writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '2',
    '-out', at('server.pem'), '-extfile', at('server.ext'));
  return {
    dir, caFile: at('ca.pem'), otherCaFile: at('other-ca.pem'), certFile: at('server.pem'), keyFile: at('server.key'),
    ca: readFileSync(at('ca.pem'), 'utf8'), cert: readFileSync(at('server.pem'), 'utf8'), key: readFileSync(at('server.key'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
