/** The origin of a room's own server-side writes (REST chat, restores): not a socket's. */
export const SERVER = Symbol('server')
