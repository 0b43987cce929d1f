// Messages and limits shared by the main thread and the transport thread. (The main
// thread never loads ws: the socket lives in the worker.)
import type { MessagePort } from 'node:worker_threads';
import type { CollectorMessage } from '../protocol/messages.js';

export interface WorkerInit {
  url: string;
  token: string | undefined;
  hello: Uint8Array;
  port: MessagePort;
}

export type ToWorker =
  | { t: 'batch'; seq: number; count: number; bytes: Uint8Array }
  | { t: 'send'; bytes: Uint8Array }
  | { t: 'hello'; bytes: Uint8Array }
  | { t: 'close' };

export type FromWorker =
  | { t: 'acked'; events: number; bytes: number }
  | { t: 'connected'; connected: boolean }
  | { t: 'message'; message: CollectorMessage }
  | { t: 'warn'; key: string; text: string };

/** Encoded batches the main thread may have awaiting acknowledgement. */
export const MAX_UNACKED_BYTES = 8 * 1024 * 1024;
/** The worker writes nothing more while the socket holds this much unsent. */
export const MAX_SOCKET_BUFFERED = 1024 * 1024;
