// A Web Worker's globals in a node worker thread, for the package's node test: `self` with
// postMessage / onmessage over the thread's parent port, and an IndexedDB kept in a JSON file
// (fake_idb.mjs) so that a second client in the same test finds what the first stored.
import { parentPort, workerData } from 'node:worker_threads';
import { fakeIndexedDB } from './fake_idb.mjs';

globalThis.self = globalThis;
let handler = null;
Object.defineProperty(globalThis, 'onmessage', { get: () => handler, set: (f) => { handler = f; } });
globalThis.postMessage = (msg, transfer) => parentPort.postMessage(msg, transfer);
parentPort.on('message', (data) => handler?.({ data }));
globalThis.indexedDB = fakeIndexedDB(`${process.env.NYMSUITE_TEST_DIR}/idb.json`);
await import(workerData.url);
