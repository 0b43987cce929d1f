// HTTP from the tests, through undici, to 127.0.0.1 only.
import { connect } from 'node:net';
import { request } from 'undici';

export async function getJson<T = any>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await request(url, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function sendJson<T = any>(method: 'PUT' | 'POST' | 'DELETE', url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await request(url, { method, headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Sends each path once, `concurrency` at a time, and returns the statuses in order. */
export async function hit(base: string, paths: string[], concurrency = 4): Promise<number[]> {
  const statuses: number[] = new Array(paths.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < paths.length) {
      const i = next++;
      const res = await request(base + paths[i]);
      await res.body.dump();
      statuses[i] = res.statusCode;
    }
  }));
  return statuses;
}

/**
 * Sends `text` to the server of `baseUrl` byte for byte, as no client library would
 * (malformed, or with a path it would normalise), and resolves once the server closes
 * with the status and the parsed JSON body.
 */
export function rawHttp(baseUrl: string, text: string): Promise<{ status: number; body: any }> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(text));
    let data = '';
    socket.setEncoding('utf8').on('data', (d: string) => { data += d; });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, body] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head!)?.[1]), body: JSON.parse(body!) });
    });
  });
}
