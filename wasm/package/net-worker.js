// The net Worker: netd's portable core under NetHost (hosts.mjs): the gateway WebSocket,
// topology fetches, ack timers and Poisson/cover timing. It never holds a key: keyd seals
// every frame it sends and opens every frame it receives. Commands on the Worker object (from
// the page): init {page, key: MessagePort}, chooseGateway {nymApiUrl, preferredGateway,
// forceTls}, start {config}, stop. Replies: loaded, gateway {identity, identityBytes, url},
// state {name, detail}, log {level, line}, error {message}, stopped. IPC datagrams go over the
// ports, one ArrayBuffer per postMessage.
import createNymsuite from './nymsuite.mjs';
import { NetHost, ROLE } from './hosts.mjs';
import { ipcRoleFor } from './glue.js';

const M = await createNymsuite();
if (M._nsw_init() !== 0) throw new Error('nsw_init failed');

let pagePort = null, keyPort = null, net = null;
const early = [];
// From a stop until the next start, what arrives belongs to the stopped session (keyd's last
// answers): dropped, never replayed into the next session; nor is anything from the supervisor
// kept before the session runs (the SHUTDOWN of a stop may arrive after the next 'start').
let between = false;

function post(port, datagram) {
  const buf = datagram.buffer.byteLength === datagram.length ? datagram.buffer : datagram.slice().buffer;
  port.postMessage(buf, [buf]);
}

function feed(from, datagram) {
  if (!net) { if (!between && from !== ROLE.SUPERVISOR) early.push([from, datagram]); return; }
  try { net.feed(from, datagram); } catch (e) {
    self.postMessage({ cmd: 'error', message: String(e.message ?? e), fatal: true });
    stop();
  }
}

function fromPage(ev) {
  const d = new Uint8Array(ev.data);
  const from = ipcRoleFor(M, d, { self: ROLE.NETD, candidates: [ROLE.APID, ROLE.SUPERVISOR] });
  feed(from < 0 ? ROLE.APID : from, d);
}

function start(config) {
  between = false;
  net = new NetHost(M, config, {
    send: (role, d) => post(role === ROLE.KEYD ? keyPort : pagePort, d),
    log: (level, line) => self.postMessage({ cmd: 'log', level, line }),
    onState: (name, detail) => self.postMessage({ cmd: 'state', name, detail: detail ?? null }),
  });
  net.start();
  for (const [from, d] of early.splice(0)) feed(from, d);
}

function stop() {
  if (net) { const n = net; net = null; n.stop(); }
}

self.onmessage = async (ev) => {
  const m = ev.data ?? {};
  try {
    if (m.cmd === 'init') {
      pagePort = m.page; keyPort = m.key;
      pagePort.onmessage = fromPage;
      keyPort.onmessage = (e) => feed(ROLE.KEYD, new Uint8Array(e.data));
    } else if (m.cmd === 'chooseGateway') {
      const g = await NetHost.chooseGateway(M, { nymApiUrl: m.nymApiUrl, preferredGateway: m.preferredGateway, forceTls: m.forceTls });
      self.postMessage({ cmd: 'gateway', identity: g.identity, identityBytes: g.identityBytes, url: g.url });
    } else if (m.cmd === 'start') start(m.config);
    else if (m.cmd === 'stop') {
      stop();
      between = true;
      early.length = 0;
      self.postMessage({ cmd: 'stopped' });
    }
  } catch (e) {
    self.postMessage({ cmd: 'error', message: String(e.message ?? e), during: m.cmd });
  }
};
self.postMessage({ cmd: 'loaded' });
