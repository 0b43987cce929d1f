// HTTP from the tests, through undici, to 127.0.0.1 only.
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
