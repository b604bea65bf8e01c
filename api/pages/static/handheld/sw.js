/* The handheld's service worker: it keeps the page's shell (the page, its scripts, styles and
   the bay directory) so that the handheld opens without a network. The server puts two lines
   in front of this file (api/pages/handheld.py): SHELL_VERSION, a digest of the shell's files
   and of this worker, and SHELL_ASSETS, the scripts and styles the page loads. A change to any
   of them changes this file, so the browser installs the new worker, which keeps the new files
   in a cache of their own and drops the old one.

   - Scripts and styles: cache first (the cache is of exactly this version's files).
   - The page and the bay directory: network first, so a new page or bay shows at once; the kept
     copy when the network is down.
   - The API: never cached (plates, tasks and tokens stay off the disk); the page queues what is
     recorded offline in IndexedDB (queue.js) and uploads it, in order, when the network returns. */
"use strict";

const CACHE_PREFIX = "parking-handheld-shell-";
const SHELL_CACHE = CACHE_PREFIX + SHELL_VERSION;
const SCOPE = new URL(self.registration.scope).pathname; // /handheld/

/** The handheld pages open in this browser (the one that registered us among them), and
    their bay directories: kept at install, since they loaded before there was a worker. */
async function openPages() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const pages = new Set();
  for (const client of windows) {
    const url = new URL(client.url);
    if (url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) continue;
    pages.add(url.pathname + url.search);
    pages.add(url.pathname.replace(/\/$/, "") + "/bays.json");
  }
  return [...pages];
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      await cache.addAll(SHELL_ASSETS);
      await cache.addAll(await openPages());
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== SHELL_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function cacheFirst(request) {
  const kept = await caches.match(request, { cacheName: SHELL_CACHE });
  return kept || fetch(request);
}

async function networkFirst(request) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (offline) {
    const kept = (await cache.match(request)) || (await cache.match(request, { ignoreSearch: true }));
    if (kept) return kept;
    throw offline;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (SHELL_ASSETS.includes(url.pathname)) event.respondWith(cacheFirst(request));
  else if (url.pathname.startsWith(SCOPE)) event.respondWith(networkFirst(request));
  // anything else, the API above all, goes to the network untouched
});
