/**
 * Ed25519 key pairs and key files. A key is named for who holds it (a party
 * id, or a log's origin); its public half travels as a C2SP vkey. Secret key
 * files are JSON written with mode 0600 and never overwritten.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { fromHex, toHex } from './bytes.js';
import { CustodyError, whyNotWritten } from './errors.js';
import { formatVkey, isKeyName, keyId, keyIdHex, SIG_ED25519 } from './note.js';
import { generateSecretKey, publicKeyOf } from './signature.js';

export interface KeyPair {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  /** The key ID events carry in `key`: 8 hex digits of the signed-note key ID. */
  readonly keyId: string;
  readonly vkey: string;
}

export function keyPairFrom(name: string, secretKey: Uint8Array): KeyPair {
  if (!isKeyName(name))
    throw new CustodyError('CUSTODY_BAD_INPUT', `"${name}" cannot name a key (no spaces or "+")`);
  if (secretKey.length !== 32)
    throw new CustodyError('CUSTODY_BAD_INPUT', 'an Ed25519 secret key is 32 bytes');
  const publicKey = publicKeyOf(secretKey);
  return {
    name,
    publicKey,
    secretKey,
    keyId: keyIdHex(keyId(name, SIG_ED25519, publicKey)),
    vkey: formatVkey(name, SIG_ED25519, publicKey),
  };
}

export function generateKeyPair(name: string): KeyPair {
  return keyPairFrom(name, generateSecretKey());
}

interface KeyFileJson {
  format: 'custody/key/v1';
  name: string;
  vkey: string;
  secretKey: string;
}

/** Writes a key file readable by its owner only; refuses to replace an existing file. */
export async function writeKeyFile(path: string, key: KeyPair): Promise<void> {
  const json: KeyFileJson = {
    format: 'custody/key/v1',
    name: key.name,
    vkey: key.vkey,
    secretKey: toHex(key.secretKey),
  };
  try {
    await writeFile(path, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    const exists = (cause as { code?: string }).code === 'EEXIST';
    throw new CustodyError(
      'CUSTODY_BAD_KEY_FILE',
      exists
        ? `${path} already exists; choose another file (keys are never overwritten)`
        : `cannot write ${path}: ${whyNotWritten(cause)}`,
      400,
      { cause },
    );
  }
}

export async function readKeyFile(path: string): Promise<KeyPair> {
  const fail = (why: string, cause?: unknown) =>
    new CustodyError('CUSTODY_BAD_KEY_FILE', `key file ${path} ${why}`, 400, { cause });
  let text: string;
  try {
    const info = await stat(path);
    // Like ssh, refuse a secret others can read: it may already be copied.
    if ((info.mode & 0o077) !== 0) throw fail('is readable by others; run chmod 600 on it');
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (cause instanceof CustodyError) throw cause;
    throw fail('cannot be read', cause);
  }
  let json: Partial<KeyFileJson>;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw fail('is not JSON', cause);
  }
  if (
    json.format !== 'custody/key/v1' ||
    typeof json.name !== 'string' ||
    typeof json.secretKey !== 'string'
  ) {
    throw fail('is not a Custody key file');
  }
  const key = keyPairFrom(json.name, fromHex(json.secretKey, 32, 'secretKey'));
  if (json.vkey !== key.vkey) throw fail('is damaged: its public key does not match its secret key');
  return key;
}
