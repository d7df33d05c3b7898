/** Serial numbers from the command line or from a CSV file of any size (first column; a "serial" header is skipped). */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CliError } from './exit.js';

const SERIAL = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;

function checked(serials: string[], where: string): string[] {
  const bad = serials.find((s) => !SERIAL.test(s));
  if (bad !== undefined)
    throw new CliError(`${where}: "${bad}" is not a serial number (letters, digits, . _ / -; at most 64)`);
  const unique = new Set(serials);
  if (unique.size !== serials.length) throw new CliError(`${where}: a serial number appears twice`);
  if (serials.length === 0) throw new CliError(`${where}: no serial numbers`);
  return serials;
}

export async function readSerials(options: { serials?: string; csv?: string }): Promise<string[]> {
  if ((options.serials === undefined) === (options.csv === undefined)) {
    throw new CliError('give the serial numbers with either --serials A,B,C or --csv FILE');
  }
  if (options.serials !== undefined) {
    return checked(
      options.serials
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      '--serials',
    );
  }
  const path = options.csv as string;
  const out: string[] = [];
  try {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      const first = line.split(',')[0]?.trim().replace(/^"|"$/g, '') ?? '';
      if (first === '' || (out.length === 0 && /^serial/i.test(first))) continue;
      out.push(first);
    }
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return checked(out, path);
}

/**
 * Splits serials into groups that each fit one entry (65,535 bytes with the
 * rest of the event) and the vocabulary's 5,000 per event.
 */
export function chunkSerials(serials: readonly string[], budget = 56_000, maxPerEvent = 5_000): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const s of serials) {
    const cost = s.length + 3;
    if (current.length > 0 && (bytes + cost > budget || current.length >= maxPerEvent)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(s);
    bytes += cost;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
