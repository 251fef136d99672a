/** Registers the service worker (web/src/sw.ts) that lets the app open and reload offline. */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined) // the app works without it, online
}
