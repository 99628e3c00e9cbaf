#!/usr/bin/env node
// ws-echo-check.mjs PORT: checks our C websocket server (tools/wsecho) against node's `ws` client
// (from the setup cache): text and 100 KB binary echo, ping/pong, a 2 MiB message refused with
// close 1009, a wrong path refused with HTTP 404, and a normal close 1000. Prints one JSON line per
// check and exits 0 only if all passed.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

const port = Number(process.argv[2]);
const cache = path.join(process.env.NYMSUITE_CACHE || path.join(os.homedir(), '.cache', 'nymsuite'), 'interop');
const WebSocket = createRequire(path.join(cache, 'package.json'))('ws');
let failed = 0;
const check = (name, ok, detail = {}) => {
  if (!ok) failed++;
  process.stdout.write(JSON.stringify({ check: name, ok, ...detail }) + '\n');
};

function connect(p = '/') {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${p}`, { perMessageDeflate: false, maxPayload: 8 << 20 });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}
const next = (ws, ev) => new Promise((resolve) => ws.once(ev, (...a) => resolve(a)));

async function main() {
  const ws = await connect();
  ws.send('hello from node ✓');
  let [data, isBinary] = await next(ws, 'message');
  check('text echo', !isBinary && data.toString() === 'hello from node ✓');

  const blob = randomBytes(100 * 1024);
  ws.send(blob);
  [data, isBinary] = await next(ws, 'message');
  check('100 KB binary echo', isBinary && Buffer.compare(data, blob) === 0, { len: data.length });

  ws.ping(Buffer.from('p1'));
  [data] = await next(ws, 'pong');
  check('ping answered with pong', data.toString() === 'p1');

  ws.close(1000, 'done');
  const [code] = await next(ws, 'close');
  check('close 1000 handshake', code === 1000, { code });

  const big = await connect();
  big.send(Buffer.alloc(2 << 20));
  const [bigCode] = await next(big, 'close');
  check('2 MiB message refused with 1009', bigCode === 1009, { code: bigCode });

  try {
    const w = await connect('/elsewhere');
    w.terminate();
    check('wrong path refused', false);
  } catch (e) {
    check('wrong path refused', /404/.test(e.message), { error: e.message });
  }
  process.exit(failed ? 1 : 0);
}

setTimeout(() => { check('finished within 20 s', false); process.exit(1); }, 20000).unref();
main().catch((e) => { check('no exception', false, { error: e.message }); process.exit(1); });
