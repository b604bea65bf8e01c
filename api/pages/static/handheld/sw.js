/* The handheld's service worker: it keeps the page's shell (the page, its scripts, styles and
   the bay directory) so that the handheld opens without a network; the API is never cached.
   The queue of actions recorded offline lives in IndexedDB (queue.js) and is uploaded by the
   page, in order, when the network returns. */
"use strict";

const SHELL_CACHE = "parking-handheld-shell-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const shell = url.pathname.startsWith("/handheld/") || url.pathname.startsWith("/static/handheld/");
  if (request.method !== "GET" || url.origin !== self.location.origin || !shell) return;
  // Network first, so a new version shows at once; the kept copy only when offline.
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy)));
        }
        return response;
      })
      .catch(() => caches.match(request).then((kept) => kept || Response.error())),
  );
});
