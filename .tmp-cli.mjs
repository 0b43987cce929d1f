import { Pool } from 'undici';
const p = new Pool(process.argv[2], { connections: 8 });
const N = Number(process.argv[3]);
let sent = 0, done = 0;
await new Promise((resolve) => {
  const one = () => { if (sent >= N) return; sent++; p.request({ path: '/users/1/orders?x=1', method: 'GET' }).then(async (r) => { await r.body.dump(); if (++done === N) resolve(); else one(); }); };
  for (let i = 0; i < 8; i++) one();
});
await p.close();
