// The key Worker: keyd's operations and the sealed key store in their own module instance.
// It holds every long-term key; nothing it posts carries one in clear: IPC datagrams (the
// catalogue's secret rule, checked by the C encoder), sealed records for IndexedDB, and the
// public values of its store (gateway identity and URL, our address, registered or not).
// Commands on the Worker object (from the page): init {page, net: MessagePort}, load
// {clientId, passphrase}, create {gatewayIdentity, gatewayUrl}, run, stop. Replies: loaded,
// keys {gatewayIdentity, gatewayUrl, registered, address}, needGateway, error {message, code},
// stopped. IPC datagrams go over the ports, one ArrayBuffer per postMessage.
import createNymsuite from './nymsuite.mjs';
import { KeydHost, ROLE } from './hosts.mjs';
import { createStore, openStore, sealStore, storeInfo, freeStore } from './keystore.js';
import { ipcRoleFor, KEY_QUEUE } from './glue.js';

const DB_NAME = 'nymsuite-keys', DB_STORE = 'clients';

const M = await createNymsuite();
if (M._nsw_init() !== 0) throw new Error('nsw_init failed');

let pagePort = null, netPort = null, keyd = null, store = 0;
let clientId = null, passphrase = null;
const early = []; // datagrams that arrive before keyd runs
// From a stop until the next load, what arrives belongs to the stopped session (netd's last
// frames may still be on their way): dropped, never replayed into the next session's keyd.
// Nor is anything from the supervisor kept for a keyd not yet running: the page sends it
// SHUTDOWN and STATS_REQUEST only while a session runs, and its port is not ordered with the
// Worker's own messages, so the SHUTDOWN of a stop can arrive after the next 'load'.
let between = false;
let writes = Promise.resolve(); // IndexedDB writes, in order

function idb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(DB_STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function idbOp(mode, fn) {
  const db = await idb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(DB_STORE, mode);
      const req = fn(tx.objectStore(DB_STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally { db.close(); }
}

const idbGet = (key) => idbOp('readonly', (s) => s.get(key));
function idbPut(key, record) {
  const copy = record.slice();
  writes = writes.then(() => idbOp('readwrite', (s) => s.put({ version: 1, record: copy }, key)))
    .catch((e) => self.postMessage({ cmd: 'error', message: `key store: cannot write IndexedDB: ${e}` }));
  return writes;
}

function post(port, datagram) {
  const buf = datagram.buffer.byteLength === datagram.length ? datagram.buffer : datagram.slice().buffer;
  port.postMessage(buf, [buf]);
}

function send(role, datagram) {
  if (role === ROLE.NETD) post(netPort, datagram);
  else post(pagePort, datagram); // the engine (APID) and the supervisor are both the page
}

function feed(from, datagram, hold = false) {
  if (!keyd) { if (!between && from !== ROLE.SUPERVISOR) early.push([from, datagram]); return; }
  try { keyd.feed(from, datagram, hold); } catch (e) {
    // a peer broke the protocol: the state takes nothing more (natively keyd exits)
    self.postMessage({ cmd: 'error', message: String(e.message ?? e), fatal: true });
    stopKeyd();
  }
}

// From the page: the engine's datagrams (APID) or the supervisor's; the catalogue says which.
// They wait in a queue taken one datagram per task, so that what netd sent meanwhile (the
// frames the gateway pushed, acks among them) is opened first: postMessage has no
// back-pressure, and a burst of sends would otherwise put seconds of packet building ahead of
// every ack, longer than netd's ack timers (natively the socket buffer bounds that backlog and
// keyd's loop reads both sockets in turn).
// The queue is bounded as the socket buffer bounds it natively: the page sends no more than
// KEY_QUEUE (glue.js) holds beyond what we said we took, and keeps the rest itself. We say
// what we took (running totals, so a late report is harmless) on the Worker object when a
// quarter of the bound was taken since the last report, or the queue ran empty.
const fromPageQueue = [];
let pageHead = 0;
const tick = new MessageChannel();
let tickPosted = false;
const q = { bytes: 0, taken: 0, takenBytes: 0, told: 0, toldBytes: 0, peakBytes: 0, peakDatagrams: 0, over: 0 };

function fromPage(ev) {
  const d = new Uint8Array(ev.data);
  fromPageQueue.push(d);
  q.bytes += d.length;
  const depth = fromPageQueue.length - pageHead;
  if (q.bytes > q.peakBytes) q.peakBytes = q.bytes;
  if (depth > q.peakDatagrams) q.peakDatagrams = depth;
  // never with our page (it keeps to the window): counted and said once, nothing dropped
  if (depth > 1 && (q.bytes > KEY_QUEUE.bytes || depth > KEY_QUEUE.datagrams) && q.over++ === 0)
    self.postMessage({ cmd: 'log', level: 'warn', line: 'the page sent past the key queue bound' });
  if (!tickPosted) { tickPosted = true; tick.port2.postMessage(null); }
}

function took(d) {
  q.bytes -= d.length;
  q.taken++;
  q.takenBytes += d.length;
}

function tellTaken(force) {
  if (q.taken === q.told) return;
  if (!force && q.takenBytes - q.toldBytes < KEY_QUEUE.bytes / 4 && q.taken - q.told < KEY_QUEUE.datagrams / 4) return;
  q.told = q.taken; q.toldBytes = q.takenBytes;
  self.postMessage({ cmd: 'taken', datagrams: q.taken, bytes: q.takenBytes, peakBytes: q.peakBytes,
    peakDatagrams: q.peakDatagrams, over: q.over });
}

// netd's frames (one per gateway message) are opened as they come, but what keyd answers
// (acks and fragments for the engine) leaves at the next tick, so that the frames that came
// in one burst go to the page as BATCHes: one postMessage per 8 instead of one each.
let netHeld = false;
function fromNet(ev) {
  feed(ROLE.NETD, new Uint8Array(ev.data), true);
  netHeld = true;
  if (!tickPosted) { tickPosted = true; tick.port2.postMessage(null); }
}

tick.port1.onmessage = () => {
  tickPosted = false;
  if (netHeld) { netHeld = false; keyd?.flush(); }
  if (pageHead < fromPageQueue.length) {
    const d = fromPageQueue[pageHead];
    fromPageQueue[pageHead++] = undefined;
    took(d);
    const from = ipcRoleFor(M, d, { self: ROLE.KEYD, candidates: [ROLE.APID, ROLE.SUPERVISOR] });
    feed(from < 0 ? ROLE.APID : from, d); // undecodable: refused as the engine's
  }
  if (pageHead < fromPageQueue.length) { tickPosted = true; tick.port2.postMessage(null); }
  else { fromPageQueue.length = 0; pageHead = 0; }
  tellTaken(pageHead === 0);
};

// A stop drops what waits (it belongs to the stopped session) and counts it as taken.
function dropQueue() {
  for (let i = pageHead; i < fromPageQueue.length; i++) took(fromPageQueue[i]);
  fromPageQueue.length = 0;
  pageHead = 0;
  tellTaken(true);
}

function publicKeys() {
  const info = storeInfo(M, store);
  return { cmd: 'keys', gatewayIdentity: info.gatewayIdentity, gatewayUrl: info.gatewayUrl,
    registered: info.registered, address: info.address };
}

function fail(e) {
  self.postMessage({ cmd: 'error', message: String(e.message ?? e), code: e.code });
}

async function load(m) {
  between = false;
  clientId = String(m.clientId);
  passphrase = m.passphrase ?? null;
  const row = await idbGet(clientId);
  if (!row) { self.postMessage({ cmd: 'needGateway' }); return; }
  store = openStore(M, new Uint8Array(row.record), { clientId, passphrase });
  passphrase = null;
  self.postMessage(publicKeys());
}

async function create(m) {
  store = createStore(M, { clientId, passphrase, gatewayIdentity: new Uint8Array(m.gatewayIdentity), gatewayUrl: m.gatewayUrl });
  passphrase = null;
  await idbPut(clientId, sealStore(M, store));
  self.postMessage(publicKeys());
}

function run() {
  if (!store) throw new Error('key store: nothing loaded');
  keyd = new KeydHost(M, { store }, {
    send,
    onKeysSealed: (record) => idbPut(clientId, record),
    // not from inside the call that drains keyd's events: free it once that call returned
    onShutdown: () => queueMicrotask(stopKeyd),
  });
  store = 0; // keyd owns it now
  keyd.start();
  for (const [from, d] of early.splice(0)) feed(from, d);
}

function stopKeyd() {
  if (keyd) { keyd.free(); keyd = null; }
  if (store) { freeStore(M, store); store = 0; }
}

self.onmessage = async (ev) => {
  const m = ev.data ?? {};
  try {
    if (m.cmd === 'init') {
      pagePort = m.page; netPort = m.net;
      pagePort.onmessage = fromPage;
      netPort.onmessage = fromNet;
    } else if (m.cmd === 'load') await load(m);
    else if (m.cmd === 'create') await create(m);
    else if (m.cmd === 'run') run();
    else if (m.cmd === 'stop') {
      stopKeyd();
      between = true;
      early.length = 0;
      dropQueue();
      await writes;
      self.postMessage({ cmd: 'stopped' });
    }
  } catch (e) { passphrase = null; fail(e); }
};
self.postMessage({ cmd: 'loaded' });
