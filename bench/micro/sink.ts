// A WebSocket server that reads and discards every frame, in its own process (on the
// other core where taskset exists): the far end of the "send" cases, so the agent's
// socket writes have somewhere real to go and its reads do not share the timed core.
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
let frames = 0;
wss.on('connection', (ws) => ws.on('message', () => { frames++; }));
wss.on('listening', () => process.send!({ port: (wss.address() as { port: number }).port }));
process.on('message', (m: string) => {
  if (m === 'frames') process.send!({ frames });
});
process.on('disconnect', () => process.exit(0));
