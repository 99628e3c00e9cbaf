// nymsuite.wasm under node: the checks of checks.mjs (the exported C API against the
// real-client vector file, the IPC codec).
//   node tests/wasm/api_test.mjs WASM_DIR VECTORS
// Prints a "FAIL ..." line per failed check and a closing "N passed, N failed"; exit 1 on any failure.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { runChecks } from './checks.mjs';

const [wasmDir, vectorsPath] = process.argv.slice(2);
if (!wasmDir || !vectorsPath) {
  console.error('usage: api_test.mjs WASM_DIR VECTORS');
  process.exit(2);
}
// emscripten's ES-module glue running under node wants CommonJS's require and __dirname
globalThis.require = createRequire(import.meta.url);
globalThis.__dirname = path.resolve(wasmDir);
const { default: createNymsuite } = await import(pathToFileURL(path.resolve(wasmDir, 'nymsuite.mjs')));
const M = await createNymsuite({ wasmBinary: readFileSync(path.join(wasmDir, 'nymsuite.wasm')) });
const V = JSON.parse(readFileSync(vectorsPath, 'utf8'));

const { passed, failed, failures } = runChecks(M, V);
for (const f of failures) console.log(`FAIL ${f}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
