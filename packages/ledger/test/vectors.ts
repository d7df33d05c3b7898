/** Loads the published test vectors from ../shared/vectors (beside the repository, as in CI). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/', import.meta.url));

if (!existsSync(VECTORS)) {
  throw new Error(`test vectors not found at ${VECTORS}: the shared/ folder must sit beside the repository`);
}

export function vectorText(path: string): string {
  return readFileSync(join(VECTORS, path), 'utf8');
}

/** Every .json file under a vectors folder, with its path relative to that folder. */
export function vectorFiles(folder: string): { name: string; text: string }[] {
  const root = join(VECTORS, folder);
  const out: { name: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.json'))
        out.push({ name: relative(root, path), text: readFileSync(path, 'utf8') });
    }
  };
  walk(root);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * JSON.parse with the named integer members kept exact as bigints: the probes
 * include sizes of 2^64 - 1, which a JavaScript number cannot hold.
 */
export function parseWithBigInts(text: string, members: readonly string[]): Record<string, unknown> {
  const pattern = new RegExp(`("(?:${members.join('|')})"\\s*:\\s*)(\\d+)`, 'g');
  const raw = JSON.parse(text.replace(pattern, '$1"$2"')) as Record<string, unknown>;
  for (const m of members) if (typeof raw[m] === 'string') raw[m] = BigInt(raw[m] as string);
  return raw;
}
