// Waits on a recording operation of the collector's REST API.
import { getJson } from './http.js';
import { waitFor } from './service-process.js';

/** Resolves with GET /v1/recordings/:id once the operation is no longer IN_PROGRESS. */
export async function finishedRecording(collectorUrl: string, id: string, timeoutMs = 15_000): Promise<any> {
  let last: unknown;
  return waitFor(async () => {
    const { status, body } = await getJson(`${collectorUrl}/v1/recordings/${id}`);
    last = { status, body };
    return status === 200 && body.status.id === 'IN_PROGRESS' ? undefined : body;
  }, timeoutMs, () => `recording ${id} did not finish; last answer: ${JSON.stringify(last)}`);
}
