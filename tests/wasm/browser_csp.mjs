// The package's documented Content-Security-Policy in headless Debian Chromium: a static
// server on 127.0.0.1 serves build/wasm/package (as /pkg/) and tests/wasm/browser_csp/ (as
// /t/) with the policy on every response (the Workers get theirs from their own response).
//  - under the documented policy the page instantiates nymsuite.wasm and the key Worker makes a
//    client's keys, stores them sealed in IndexedDB, and after a reload finds and opens them to
//    the same address; with a passphrase too, and a wrong one is refused;
//  - without 'wasm-unsafe-eval', or without connect-src 'self' (the .wasm fetch), it fails: the
//    documented sources are needed, not decoration.
//   PLAYWRIGHT_DIR=DIR node tests/wasm/browser_csp.mjs WASM_DIR     prints "N passed, N failed"
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const dir = path.resolve(process.env.PLAYWRIGHT_DIR || '.');
const { chromium } = createRequire(path.join(dir, 'noop.js'))('playwright-core');
const wasmDir = path.resolve(process.argv[2] || 'build/wasm');
const here = path.dirname(new URL(import.meta.url).pathname);
const roots = { '/pkg/': path.join(wasmDir, 'package'), '/t/': path.join(here, 'browser_csp') };
const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const DOCUMENTED = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'";
let policy = DOCUMENTED;

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const root = Object.keys(roots).find((p) => url.pathname.startsWith(p));
  const file = root && path.join(roots[root], path.normalize(url.pathname.slice(root.length)));
  if (!file || !file.startsWith(roots[root]) || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream',
    'Content-Security-Policy': policy, 'Cache-Control': 'no-store' });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

let passed = 0, failed = 0;
function check(name, ok, why = '') {
  if (ok) passed++;
  else { failed++; console.log(`FAIL ${name}${why ? ': ' + why : ''}`); }
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const csp = [];
  page.on('console', (m) => { if (/Content Security Policy|CSP/i.test(m.text())) csp.push(m.text()); });
  const run = async (query = '') => {
    await page.goto(`${base}/t/page.html${query}`);
    await page.waitForFunction(() => window.cspResult, null, { timeout: 120000 });
    return page.evaluate(() => window.cspResult);
  };
  const r1 = await run();
  check('documented policy: keys made', !r1.error && !r1.found && r1.address?.length === 192 && r1.gatewayUrl === 'ws://127.0.0.1:9/gw' && r1.registered === false, JSON.stringify(r1));
  check('documented policy: no CSP violation', csp.length === 0, csp.join(' | '));
  const r2 = await run();
  check('reload: keys found in IndexedDB, same address', !r2.error && r2.found && r2.address === r1.address, JSON.stringify(r2));

  const p1 = await (async () => { await page.evaluate(() => indexedDB.deleteDatabase('nymsuite-keys')); return run('?pass=secret'); })();
  check('passphrase: keys made', !p1.error && !p1.found, JSON.stringify(p1));
  const p2 = await run('?pass=secret');
  check('passphrase: reload opens them, same address', !p2.error && p2.found && p2.address === p1.address, JSON.stringify(p2));
  const p3 = await run('?pass=wrong');
  check('wrong passphrase refused', /do not open/.test(p3.error ?? ''), JSON.stringify(p3));
  const p4 = await run();
  check('no passphrase for a sealed record refused', /sealed with a passphrase/.test(p4.error ?? ''), JSON.stringify(p4));

  for (const [name, pol] of [['without wasm-unsafe-eval', "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'"],
    ['without connect-src self', "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'"]]) {
    policy = pol;
    csp.length = 0;
    const r = await run();
    check(`${name}: fails`, !!r.error || r.steps.length === 0 || !r.address, JSON.stringify(r));
    check(`${name}: Chromium reports the violation`, csp.length > 0);
  }
  policy = DOCUMENTED;
} finally {
  await browser.close();
  server.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
