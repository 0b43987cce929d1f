// Request bodies for the endpoints that change state: read in full up to the API's
// limit (a body sent without Content-Length is counted as it arrives, so the limit
// holds either way), then parsed as JSON. Each failure is an HttpError that says why.
import type { IncomingMessage } from 'node:http';
import { HttpError } from './respond.js';

/** The largest request body any endpoint accepts. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The body as parsed JSON; `undefined` when it is empty. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Not destroyed: that would cut the socket before the 413 is written. The rest is
      // discarded as it arrives, and `connection: close` ends the exchange after the answer.
      req.off('data', onData);
      req.resume();
      reject(new HttpError(413, `request body is larger than ${limit} bytes`, { connection: 'close' }));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `the body is not JSON: ${(err as Error).message}`);
  }
}

/** A plain JSON object, or a 400 naming what was expected. */
export function objectBody(v: unknown, example: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new HttpError(400, `the body must be a JSON object such as ${example}`);
  }
  return v as Record<string, unknown>;
}
