// Under the Content-Security-Policy the package documents: the page instantiates the module
// (its engine side), creates the package's key Worker as index.js does (a module Worker by
// URL relative to the package), and drives its start commands: a new client's keys made in
// the Worker for a given gateway and stored sealed in IndexedDB; after a reload the same
// client's keys are found and opened (the same address). window.cspResult holds the outcome.
import createNymsuite from '../pkg/nymsuite.mjs';

const result = { steps: [] };
const step = (s) => result.steps.push(s);
function ask(w, msg, replies) {
  return new Promise((resolve, reject) => {
    const on = (ev) => {
      const m = ev.data ?? {};
      if (m.cmd === 'error') { w.removeEventListener('message', on); reject(new Error(m.message)); }
      else if (replies.includes(m.cmd)) { w.removeEventListener('message', on); resolve(m); }
    };
    w.addEventListener('message', on);
    if (msg) w.postMessage(msg);
  });
}
try {
  const M = await createNymsuite();
  step(`page module: init ${M._nsw_init()}`);
  const w = new Worker(new URL('../pkg/key-worker.js', import.meta.url), { type: 'module' });
  w.addEventListener('error', (e) => { result.error = `worker error: ${e.message}`; });
  await ask(w, null, ['loaded']);
  step('key Worker loaded');
  const passphrase = new URLSearchParams(location.search).get('pass') || undefined;
  const first = await ask(w, { cmd: 'load', clientId: 'csp-test', passphrase }, ['keys', 'needGateway']);
  step(`load: ${first.cmd}`);
  let keys = first;
  if (first.cmd === 'needGateway') {
    const gw = new Uint8Array(32).fill(9);
    keys = await ask(w, { cmd: 'create', gatewayIdentity: gw, gatewayUrl: 'ws://127.0.0.1:9/gw' }, ['keys']);
    step('create: keys');
  }
  result.address = Array.from(keys.address).map((b) => b.toString(16).padStart(2, '0')).join('');
  result.gatewayUrl = keys.gatewayUrl;
  result.registered = keys.registered;
  result.found = first.cmd === 'keys';
} catch (e) {
  result.error = String(e?.message ?? e);
}
window.cspResult = result;
