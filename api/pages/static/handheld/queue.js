/* The handheld's queue of actions recorded at the curb, in IndexedDB so that it survives a
   closed tab and a dead network: each action keeps its client id (the CDS event id), so an
   upload repeated after a lost answer is recognised by the server and creates nothing twice.
   Actions leave the queue in the order they were recorded. */
"use strict";

const handheldQueue = (() => {
  const DB_NAME = "parking-handheld";
  const STORE = "actions";
  let opened = null;

  function open() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return opened;
  }

  async function run(mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  }

  return {
    /** Keep an action; resolves to its sequence number. */
    add: (action) => run("readwrite", (store) => store.add(action)),
    /** Every action of `district`, oldest first. */
    async all(district) {
      const rows = await run("readonly", (store) => store.getAll());
      return rows.filter((row) => row.district === district).sort((a, b) => a.seq - b.seq);
    },
    put: (action) => run("readwrite", (store) => store.put(action)),
    remove: (seq) => run("readwrite", (store) => store.delete(seq)),
  };
})();
