/** Nothing global yet; external servers (MongoDB-wire, Redis) are started here when needed. */
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {}
}
