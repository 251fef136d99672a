/// <reference lib="webworker" />
/**
 * The service worker: keeps the app shell (page, script, styles, icon, manifest) so the app
 * opens and reloads without a connection; the documents themselves come from IndexedDB. The
 * shell is fetched from the network first (a new version shows at the next load) and from the
 * cache only when the network fails. Nothing else is cached: the API and the WebSocket never are.
 */
const sw = self as unknown as ServiceWorkerGlobalScope
const CACHE = 'collab-shell-v1'
const SHELL = ['/', '/app.js', '/styles.css', '/favicon.svg', '/manifest.webmanifest']

sw.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => sw.skipWaiting()))
})

sw.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key)
    await sw.clients.claim()
  })())
})

sw.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== sw.location.origin) return
  // Every page of the app (/, invite links) is the same shell.
  const key = request.mode === 'navigate' && (url.pathname === '/' || url.pathname.startsWith('/join/')) ? '/' : url.pathname
  if (!SHELL.includes(key)) return
  event.respondWith(fromNetworkThenCache(request, key))
})

async function fromNetworkThenCache(request: Request, key: string): Promise<Response> {
  const cache = await caches.open(CACHE)
  try {
    const response = await fetch(request)
    if (response.ok) await cache.put(key, response.clone())
    return response
  } catch (error) {
    const cached = await cache.match(key)
    if (cached) return cached
    throw error
  }
}
