/**
 * Transaction origins on a room's Y.Doc. A connection object is the origin of its own updates;
 * these tag everything else, so a remote update is never re-published and a load never broadcast.
 */
export const REMOTE = Symbol('remote')
export const SERVER = Symbol('server')
export const LOAD = Symbol('load')
