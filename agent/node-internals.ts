// Everything the agent reads from Node that is not a documented API, in one place.
// test/node-internals.test.ts exercises each on the running Node line and fails if it changed.
import type { ServerResponse } from 'node:http';

/**
 * The body length Node computed when a response was sent in one piece (`res.end(body)`),
 * else -1. Node keeps it in `_contentLength`; no public field has it without a header.
 */
export function responseBodySize(res: ServerResponse): number {
  const size = (res as ServerResponse & { _contentLength?: unknown })._contentLength;
  return typeof size === 'number' ? size : -1;
}

/**
 * The libuv requests a client socket makes, as process.getActiveResourcesInfo() names them;
 * CloseReq is its close, or that of a losing attempt to connect to one of a name's addresses.
 */
export const SOCKET_REQUESTS: ReadonlySet<string> = new Set([
  'GetAddrInfoReqWrap', 'ConnectWrap', 'SimpleWriteWrap', 'SimpleShutdownWrap', 'CloseReq',
]);
/** The handles of stdin, stdout and stderr: listed as ref'd, they hold a loop only when read. */
export const STDIO_HANDLES: ReadonlySet<string> = new Set(['PipeWrap', 'TTYWrap']);

/**
 * Whether an unref'd client socket's own pending requests are all that keeps the event loop
 * alive (stdio aside), so that releasing the socket lets the process end as it would without it.
 */
export function onlySocketRequestsAlive(): boolean {
  const active = process.getActiveResourcesInfo();
  let ours = 0;
  for (let i = 0; i < active.length; i++) {
    const kind = active[i]!;
    if (SOCKET_REQUESTS.has(kind)) ours++;
    else if (!STDIO_HANDLES.has(kind)) return false;
  }
  return ours > 0;
}
