/** Reads one sample from our server's /metrics (prom-client resets event-loop stats per scrape). */
export async function scrapeMetric(httpBase: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpBase}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.slice(name.length + 1)) : Number.NaN
}
