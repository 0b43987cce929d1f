// The live dashboard (GET / and /dashboard/*). The dashboard issue fills this in;
// until then it serves nothing and the API answers 404 "dashboard not built yet".
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Answers the request and returns true if it is the dashboard's; false leaves it to the API. */
export function serveDashboard(_req: IncomingMessage, _res: ServerResponse): boolean {
  return false;
}
