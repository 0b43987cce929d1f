// Entry of the agent's transport thread: owns the WebSocket (transport.ts) and relays
// between it and the main thread (transport-client.ts).
import { workerData } from 'node:worker_threads';
import { Transport } from './transport.js';
import type { ToWorker, WorkerInit } from './transport-messages.js';

const init = workerData as WorkerInit;
const port = init.port;
let hello = init.hello;

const transport = new Transport(init.url, init.token, {
  hello: () => hello,
  onMessage: (message) => port.postMessage({ t: 'message', message }),
  onAcked: (events, bytes) => port.postMessage({ t: 'acked', events, bytes }),
  onConnected: (connected) => port.postMessage({ t: 'connected', connected }),
  warn: (key, text) => port.postMessage({ t: 'warn', key, text }),
});

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'batch': transport.push(m.seq, m.count, m.bytes); break;
    case 'send': transport.sendNow(m.bytes); break;
    case 'hello': hello = m.bytes; break;
    case 'close': transport.close(); port.close(); break;
  }
});
transport.start();
