// The npm package `make wasm` packs (build/wasm/nymsuite-sdk-*.tgz): the tarball holds the
// page, both Workers, their modules, the wasm, types and README; every relative module and
// Worker URL in its JavaScript names a file in it; each file parses as an ES module; the
// package.json is an ES module package whose exports and types point at files it ships; the
// types declare the SDK API and its additions.
//   node tests/wasm/package_check.mjs WASM_DIR     prints "N passed, N failed"
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const wasmDir = process.argv[2];
if (!wasmDir) { console.error('usage: package_check.mjs WASM_DIR'); process.exit(2); }
let passed = 0, failed = 0;
function check(name, ok, why = '') {
  if (ok) passed++;
  else { failed++; console.log(`FAIL ${name}${why ? ': ' + why : ''}`); }
}

const tgz = readdirSync(wasmDir).filter((f) => /^nymsuite-sdk-.*\.tgz$/.test(f));
check('one tarball', tgz.length === 1, tgz.join(' '));
if (tgz.length !== 1) { console.log(`${passed} passed, ${failed} failed`); process.exit(1); }
const dir = mkdtempSync(path.join(tmpdir(), 'nymsuite-pkg-'));
try {
  execFileSync('tar', ['xzf', path.join(wasmDir, tgz[0]), '-C', dir]);
  const pkg = path.join(dir, 'package');
  const files = readdirSync(pkg);
  for (const f of ['package.json', 'README.md', 'index.js', 'index.d.ts', 'key-worker.js', 'net-worker.js',
    'hosts.mjs', 'payload.js', 'keystore.js', 'glue.js', 'nymsuite.mjs', 'nymsuite.wasm']) check(`ships ${f}`, files.includes(f));

  const meta = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8'));
  check('name', meta.name === '@nymsuite/sdk');
  check('type module', meta.type === 'module');
  check('exports and types ship', files.includes(meta.exports['.'].default.replace('./', '')) &&
    files.includes(meta.types.replace('./', '')) && files.includes(meta.exports['.'].types.replace('./', '')));
  check('no dependency to fetch', !meta.dependencies && !meta.peerDependencies);
  check('tarball name is the version', tgz[0] === `nymsuite-sdk-${meta.version}.tgz`);

  for (const f of files.filter((n) => /\.(m?js)$/.test(n))) {
    const text = readFileSync(path.join(pkg, f), 'utf8');
    const refs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|new URL\(\s*)['"](\.\/[^'"]+)['"]/g)].map((m) => m[1]);
    for (const r of refs) check(`${f}: ${r} ships`, files.includes(r.replace('./', '')));
    try {
      execFileSync(process.execPath, ['--input-type=module', '--check'], { input: text, stdio: ['pipe', 'ignore', 'pipe'] });
      check(`${f} parses`, true);
    } catch (e) { check(`${f} parses`, false, String(e.stderr)); }
  }
  const index = readFileSync(path.join(pkg, 'index.js'), 'utf8');
  check('Workers resolve against the module', /new URL\('\.\/key-worker\.js', import\.meta\.url\)/.test(index) &&
    /new URL\('\.\/net-worker\.js', import\.meta\.url\)/.test(index) && /type: 'module'/.test(index));
  const dts = readFileSync(path.join(pkg, 'index.d.ts'), 'utf8');
  for (const name of ['start', 'stop', 'selfAddress', 'setTextMimeTypes', 'getTextMimeTypes', 'send', 'rawSend',
    'reply', 'stats', 'subscribeToLoaded', 'subscribeToConnected', 'subscribeToTextMessageReceivedEvent',
    'subscribeToBinaryMessageReceivedEvent', 'subscribeToRawMessageReceivedEvent', 'createNymMixnetClient', 'senderTag'])
    check(`types declare ${name}`, new RegExp(`\\b${name}\\b`).test(dts) && new RegExp(`\\b${name}\\b`).test(index));
  const readme = readFileSync(path.join(pkg, 'README.md'), 'utf8');
  check('README documents the CSP', /script-src 'self' 'wasm-unsafe-eval'/.test(readme) && /worker-src 'self'/.test(readme) && /connect-src/.test(readme));
} finally { rmSync(dir, { recursive: true, force: true }); }

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
