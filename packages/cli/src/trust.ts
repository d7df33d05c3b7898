/**
 * What this user has verified before, per log origin: the log's key and the
 * largest checkpoint verified. The next verification demands a consistency
 * proof from it (an audit recomputes its root from the entries instead), so
 * a log that rolled back or forked is caught.
 * Kept in $CUSTODY_CONFIG_DIR, else $XDG_CONFIG_HOME/custody, else ~/.config/custody.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface TrustedLog {
  readonly vkey: string;
  /** The largest checkpoint verified so far (a signed note). */
  readonly checkpoint: string;
}

export interface TrustStore {
  readonly logs: Record<string, TrustedLog>;
}

export function configDir(): string {
  if (process.env.CUSTODY_CONFIG_DIR) return process.env.CUSTODY_CONFIG_DIR;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'custody');
}

const file = () => join(configDir(), 'trust.json');

export async function loadTrust(): Promise<TrustStore> {
  try {
    const parsed = JSON.parse(await readFile(file(), 'utf8')) as TrustStore;
    return parsed.logs !== undefined && typeof parsed.logs === 'object' ? parsed : { logs: {} };
  } catch {
    return { logs: {} };
  }
}

/** Writes atomically (a temporary file renamed over the old one). */
export async function saveTrust(store: TrustStore): Promise<void> {
  await mkdir(configDir(), { recursive: true, mode: 0o700 });
  const tmp = `${file()}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file());
}

/** Remembers `checkpoint` (a signed note the caller verified under `vkey`) as the largest verified for its log. */
export async function rememberCheckpoint(origin: string, vkey: string, checkpoint: string): Promise<void> {
  const store = await loadTrust();
  await saveTrust({ logs: { ...store.logs, [origin]: { vkey, checkpoint } } });
}
