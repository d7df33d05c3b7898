/**
 * Figures from a node's `/metrics` (Prometheus' text format), for the
 * benchmark's profiles and the load and node tests that read them.
 */

/** The value of the sample named exactly so (labels included), or undefined if the text has none. */
export function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
