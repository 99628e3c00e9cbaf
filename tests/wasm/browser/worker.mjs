// The checks of ../checks.mjs inside a dedicated module Worker, as the browser client's key
// Worker will run: the module and its .wasm are fetched by URL, randomness comes from
// crypto.getRandomValues. The server's root is the repository; BUILD is a query parameter.
import { runChecks } from '../checks.mjs';

const build = new URL(self.location.href).searchParams.get('build') || 'build';
async function main() {
  const { default: createNymsuite } = await import(`/${build}/wasm/nymsuite.mjs`);
  const M = await createNymsuite();
  const V = await (await fetch('/tests/vectors/real-client-packets.json')).json();
  const result = runChecks(M, V);
  // randomness: two draws of 64 bytes differ and are not all zero
  const p = M._nsw_alloc(128);
  M._nsw_random(p, 64);
  M._nsw_random(p + 64, 64);
  const a = M.HEAPU8.slice(p, p + 64), b = M.HEAPU8.slice(p + 64, p + 128);
  M._nsw_free(p, 128);
  const random_ok = a.some((x) => x) && a.some((x, i) => x !== b[i]);
  if (random_ok) result.passed++;
  else { result.failed++; result.failures.push('random bytes'); }
  result.env = { worker: typeof WorkerGlobalScope !== 'undefined', window: typeof window };
  return result;
}
main().then((r) => self.postMessage(r), (e) => self.postMessage({ error: String(e && e.stack || e) }));
