// The few IndexedDB calls key-worker.js makes (open with an upgrade, one object store, get and
// put in a transaction), kept in a JSON file; Uint8Arrays are stored as hex. Test-only.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const enc = (v) => JSON.stringify(v, (k, x) => (x instanceof Uint8Array ? { $hex: Buffer.from(x).toString('hex') } : x));
const dec = (s) => JSON.parse(s, (k, x) => (x && typeof x === 'object' && '$hex' in x ? new Uint8Array(Buffer.from(x.$hex, 'hex')) : x));

export function fakeIndexedDB(file) {
  const load = () => (existsSync(file) ? dec(readFileSync(file, 'utf8')) : {});
  // whole files only: the test reads it from another thread
  const save = (all) => { writeFileSync(`${file}.tmp`, enc(all)); renameSync(`${file}.tmp`, file); };
  const later = (fn) => setTimeout(fn, 0);
  return {
    open(name) {
      const req = {};
      later(() => {
        const all = load();
        const db = {
          createObjectStore(store) { const a = load(); a[name] ??= {}; a[name][store] ??= {}; save(a); },
          close() {},
          transaction(store) {
            const tx = {};
            const done = (req2, fn) => later(() => { try { req2.result = fn(); tx.oncomplete?.(); } catch (e) { tx.error = e; tx.onerror?.(); } });
            tx.objectStore = () => ({
              get(key) { const r = {}; done(r, () => load()[name]?.[store]?.[key]); return r; },
              put(value, key) { const r = {}; done(r, () => { const a = load(); a[name][store][key] = value; save(a); return key; }); return r; },
            });
            return tx;
          },
        };
        if (!all[name]) { req.result = db; req.onupgradeneeded?.(); }
        req.result = db;
        req.onsuccess?.();
      });
      return req;
    },
  };
}
