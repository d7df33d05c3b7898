/**
 * Writes the hostile corpus (test/hostile/cases/*.json): one request a file,
 * with the status and code the node must answer. Run it again only to add
 * cases: `node --conditions=source --import tsx test/hostile/generate.ts`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SignedEvent, signedMessage, toBase64 } from '@custody/ledger';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { buildLedger, keyOf, LICENCE, signed } from './world.js';

ed.hashes.sha512 = sha512;

export interface HostileCase {
  readonly description: string;
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly contentType?: string;
  /** The raw body, or bodyBase64 for bytes that are not UTF-8. */
  readonly body?: string;
  readonly bodyBase64?: string;
  readonly expect: { readonly status: number; readonly code: string };
}

const dir = mkdtempSync(join(tmpdir(), 'hostile-gen-'));
const { ledger, heads } = await buildLedger(join(dir, 'ledger'));
await ledger.close();
rmSync(dir, { recursive: true, force: true });

const cases: HostileCase[] = [];
const post = (description: string, body: unknown, status: number, code: string, raw = false) =>
  cases.push({
    description,
    method: 'POST',
    url: '/v1/events',
    contentType: 'application/json',
    body: raw ? (body as string) : JSON.stringify(body),
    expect: { status, code },
  });
const get = (description: string, url: string, status: number, code: string) =>
  cases.push({ description, method: 'GET', url, expect: { status, code } });

const report = () => signed('ACME', 'item.report', { serials: ['SN-2'] }, { kind: 'lost', reference: 'r' });
const withEvent = (s: SignedEvent, change: (e: Record<string, unknown>) => void) => {
  const event = structuredClone(s.event) as unknown as Record<string, unknown>;
  change(event);
  return { event, sig: s.sig };
};
/** Re-signs an event after a change, so only the change is wrong. */
const resigned = (s: SignedEvent, change: (e: Record<string, unknown>) => void, signer = 'ACME') => {
  const event = structuredClone(s.event) as unknown as Record<string, unknown>;
  change(event);
  return { event, sig: toBase64(ed.sign(signedMessage(event as never), keyOf(signer).secretKey)) };
};
const body = (s: SignedEvent) => s.event.body as Record<string, unknown>;

// Transport: not JSON, or JSON that is not a submission.
post('broken JSON', '{"event":', 400, 'CUSTODY_BAD_JSON', true);
post('an empty body', '', 400, 'CUSTODY_BAD_JSON', true);
post('a JSON array', '[]', 400, 'CUSTODY_SCHEMA', true);
post('a JSON string', '"event"', 400, 'CUSTODY_SCHEMA', true);
post('JSON null', 'null', 400, 'CUSTODY_SCHEMA', true);
post(
  'a __proto__ key at the top',
  '{"__proto__":{"admin":true},"event":{},"sig":""}',
  400,
  'CUSTODY_BAD_JSON',
  true,
);
post(
  'a constructor.prototype key',
  '{"constructor":{"prototype":{"admin":true}},"event":{},"sig":""}',
  400,
  'CUSTODY_BAD_JSON',
  true,
);
post(
  'a __proto__ key deep in the event',
  JSON.stringify(report()).replace('"kind"', '"__proto__":{"x":1},"kind"'),
  400,
  'CUSTODY_BAD_JSON',
  true,
);
cases.push({
  description: 'a text/plain body',
  method: 'POST',
  url: '/v1/events',
  contentType: 'text/plain',
  body: JSON.stringify(report()),
  expect: { status: 415, code: 'CUSTODY_UNSUPPORTED_MEDIA' },
});
post('a body over the size limit', { ...report(), padding: 'x'.repeat(200_000) }, 413, 'CUSTODY_TOO_LARGE');
const marked = Buffer.from(JSON.stringify(report()).replace('"reference":"r"', '"reference":"r@@"'));
const invalidUtf8 = Buffer.from(marked);
invalidUtf8.set([0xff, 0xfe], marked.indexOf('@@'));
cases.push({
  description:
    'invalid UTF-8 inside a string (decoded with replacement characters, so the signature no longer matches)',
  method: 'POST',
  url: '/v1/events',
  contentType: 'application/json',
  bodyBase64: invalidUtf8.toString('base64'),
  expect: { status: 401, code: 'CUSTODY_BAD_SIGNATURE' },
});

// The submission's shape.
post('no event', { sig: report().sig }, 400, 'CUSTODY_SCHEMA');
post('no sig', { event: report().event }, 400, 'CUSTODY_SCHEMA');
post('an extra member beside event and sig', { ...report(), note: 'hi' }, 400, 'CUSTODY_SCHEMA');
post('sig is a number', { event: report().event, sig: 42 }, 400, 'CUSTODY_SCHEMA');
post('event is a string', { event: 'item.report', sig: report().sig }, 400, 'CUSTODY_SCHEMA');
post(
  'version 2',
  resigned(report(), (e) => {
    e.v = 2;
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'an unknown event type',
  resigned(report(), (e) => {
    e.type = 'item.teleport';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'an id too short',
  resigned(report(), (e) => {
    e.id = 'x';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'an id with a space',
  resigned(report(), (e) => {
    e.id = 'id with space';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a time that is not RFC 3339',
  resigned(report(), (e) => {
    e.time = 'yesterday';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a time with an offset instead of UTC',
  resigned(report(), (e) => {
    e.time = '2026-06-01T11:00:00+02:00';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a date that does not exist (30 February)',
  resigned(report(), (e) => {
    e.time = '2026-02-30T11:00:00Z';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a lower-case signer',
  resigned(report(), (e) => {
    e.signer = 'acme';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a key ID that is not hex',
  resigned(report(), (e) => {
    e.key = 'zzzzzzzz';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a prev that is not a hash',
  resigned(report(), (e) => {
    e.prev = 'abc';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'an unknown member in the envelope',
  resigned(report(), (e) => {
    e.extra = true;
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'an unknown member in the body',
  resigned(report(), (e) => {
    (e.body as Record<string, unknown>).extra = 1;
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a required body member missing',
  resigned(report(), (e) => void delete (e.body as Record<string, unknown>).reference),
  400,
  'CUSTODY_SCHEMA',
);
const transit = signed(
  'DE-CUSTOMS',
  'shipment.transit',
  { shipment: 'SHP-1' },
  {
    location: 'DEHAM',
    country: 'DE',
    direction: 'exit',
    sealsIntact: true,
    inspected: false,
    outcome: 'released',
  },
  heads['shipment:SHP-1'],
);
post(
  'a boolean sent as a string ("yes")',
  resigned(
    transit,
    (e) => {
      (e.body as Record<string, unknown>).sealsIntact = 'yes';
    },
    'DE-CUSTOMS',
  ),
  400,
  'CUSTODY_SCHEMA',
);
const licence = signed('DE-BAFA', 'licence.issue', { licence: 'L-2' }, LICENCE);
const withQuantity = (q: unknown) =>
  resigned(
    licence,
    (e) => {
      ((e.body as { items: { quantity: unknown }[] }).items[0] as { quantity: unknown }).quantity = q;
    },
    'DE-BAFA',
  );
post('a number sent as a string ("10")', withQuantity('10'), 400, 'CUSTODY_SCHEMA');
post('a fraction where a whole number belongs', withQuantity(1.5), 400, 'CUSTODY_SCHEMA');
post(
  'a number beyond 2^53 (loses precision)',
  JSON.stringify(withQuantity(1)).replace('"quantity":1', '"quantity":9007199254740993'),
  400,
  'CUSTODY_SCHEMA',
  true,
);
post(
  'a number too large for a double (1e400)',
  JSON.stringify(withQuantity(1)).replace('"quantity":1', '"quantity":1e400'),
  400,
  'CUSTODY_SCHEMA',
  true,
);
post(
  'an enormous serial list (5,001)',
  signed(
    'ACME',
    'item.manufacture',
    { serials: Array.from({ length: 5001 }, (_, i) => `S${i}`) },
    body(
      signed(
        'ACME',
        'item.manufacture',
        { serials: ['x'] },
        { make: 'a', model: 'b', category: 'c', calibre: 'd', marking: {}, site: 'e' },
      ),
    ),
  ),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a serial of 65 characters',
  signed('ACME', 'item.report', { serials: ['S'.repeat(65)] }, { kind: 'lost', reference: 'r' }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'the same serial twice',
  signed('ACME', 'item.report', { serials: ['SN-1', 'SN-1'] }, { kind: 'lost', reference: 'r' }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'an enormous string (100,000 characters)',
  signed('ACME', 'item.report', { serials: ['SN-1'] }, { kind: 'lost', reference: 'r'.repeat(100_000) }),
  400,
  'CUSTODY_SCHEMA',
);
let deep: unknown = 1;
for (let i = 0; i < 60; i++) deep = { d: deep };
post(
  'deep nesting (60 levels)',
  withEvent(report(), (e) => {
    (e.body as Record<string, unknown>).location = deep;
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a control character in free text',
  resigned(report(), (e) => {
    (e.body as Record<string, unknown>).reference = 'bell\u0007';
  }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a lone surrogate in free text (RFC 8785 cannot encode it)',
  JSON.stringify(report()).replace('"reference":"r"', '"reference":"r\\ud800"'),
  400,
  'CUSTODY_NOT_CANONICAL',
  true,
);
post(
  'a lower-case country',
  resigned(
    transit,
    (e) => {
      (e.body as Record<string, unknown>).country = 'de';
    },
    'DE-CUSTOMS',
  ),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'a malformed UN/LOCODE',
  resigned(
    transit,
    (e) => {
      (e.body as Record<string, unknown>).location = 'HAMBURG';
    },
    'DE-CUSTOMS',
  ),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'an empty serial list',
  signed('ACME', 'item.report', { serials: [] }, { kind: 'lost', reference: 'r' }),
  400,
  'CUSTODY_SCHEMA',
);
post(
  'prev on an event that starts no chain',
  resigned(report(), (e) => {
    e.prev = 'ab'.repeat(32);
  }),
  400,
  'CUSTODY_SCHEMA',
);

// Signatures.
const good = report();
const sigBytes = Buffer.from(good.sig, 'base64');
post('an empty signature', { ...good, sig: '' }, 401, 'CUSTODY_BAD_SIGNATURE');
post('a signature that is not base64', { ...good, sig: '!!!!' }, 401, 'CUSTODY_BAD_SIGNATURE');
post(
  'a truncated signature (63 bytes)',
  { ...good, sig: sigBytes.subarray(0, 63).toString('base64') },
  401,
  'CUSTODY_BAD_SIGNATURE',
);
post(
  'base64 with non-zero padding bits',
  { ...good, sig: `${good.sig.slice(0, -3)}B==` },
  401,
  'CUSTODY_BAD_SIGNATURE',
);
post(
  'a signature of zeros',
  { ...good, sig: Buffer.alloc(64).toString('base64') },
  401,
  'CUSTODY_BAD_SIGNATURE',
);
post(
  'a valid signature over different bytes',
  withEvent(good, (e) => {
    (e.body as Record<string, unknown>).kind = 'stolen';
  }),
  401,
  'CUSTODY_BAD_SIGNATURE',
);
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const le = (b: Uint8Array) => [...b].reverse().reduce((n, x) => (n << 8n) | BigInt(x), 0n);
const bytes32 = (n: bigint) =>
  Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
post(
  'a malleated signature (S + L)',
  {
    ...good,
    sig: Buffer.concat([sigBytes.subarray(0, 32), bytes32(le(sigBytes.subarray(32)) + L)]).toString('base64'),
  },
  401,
  'CUSTODY_BAD_SIGNATURE',
);
{
  const secret = keyOf('ACME').secretKey;
  const message = signedMessage(good.event);
  const { scalar: a, pointBytes: A } = ed.utils.getExtendedPublicKey(secret);
  const r = 12345n;
  const R = ed.Point.BASE.multiply(r)
    .add(ed.Point.fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'))
    .toBytes();
  const k = le(sha512(Buffer.concat([R, A, message]))) % L;
  post(
    'an honest key’s signature with an order-8 component in R',
    { ...good, sig: Buffer.concat([R, bytes32((r + k * a) % L)]).toString('base64') },
    401,
    'CUSTODY_BAD_SIGNATURE',
  );
}
post(
  'signed with another party’s key under this party’s key ID',
  { event: good.event, sig: toBase64(ed.sign(signedMessage(good.event), keyOf('DE-CUSTOMS').secretKey)) },
  401,
  'CUSTODY_BAD_SIGNATURE',
);
post(
  'another party’s key ID',
  resigned(report(), (e) => {
    e.key = keyOf('DE-CUSTOMS').keyId;
  }),
  401,
  'CUSTODY_UNKNOWN_KEY',
);
post(
  'an unregistered signer',
  signed('XX-NOBODY', 'item.report', { serials: ['SN-2'] }, { kind: 'lost', reference: 'r' }),
  403,
  'CUSTODY_UNKNOWN_SIGNER',
);
post(
  'a revoked key',
  signed('XX-REVOKED', 'item.report', { serials: ['SN-2'] }, { kind: 'lost', reference: 'r' }),
  403,
  'CUSTODY_REVOKED_KEY',
);

// Authentic, but refused by the rules of the log.
post(
  'a role that may not sign this type',
  signed('DE-CUSTOMS', 'licence.issue', { licence: 'L-9' }, LICENCE),
  403,
  'CUSTODY_ROLE_NOT_ALLOWED',
);
post(
  'a licence action by an authority that did not issue it',
  signed('KE-NCC', 'licence.suspend', { licence: 'L-1' }, { reason: 'x' }, heads['licence:L-1']),
  403,
  'CUSTODY_NOT_ISSUER',
);
post(
  'a replay: a used (signer, id) with other content',
  signed('ACME', 'item.report', { serials: ['SN-2'] }, { kind: 'stolen', reference: 'r' }, null, {
    id: 'hostile-report-1',
  }),
  409,
  'CUSTODY_REPLAY',
);
post(
  'a stale prev (null on a chain with events)',
  signed('DE-BAFA', 'licence.amend', { licence: 'L-1' }, { reason: 'x', terms: {} }, null),
  409,
  'CUSTODY_STALE_PREV',
);
post(
  'a prev that is not the head',
  signed('DE-BAFA', 'licence.amend', { licence: 'L-1' }, { reason: 'x', terms: {} }, 'cd'.repeat(32)),
  409,
  'CUSTODY_STALE_PREV',
);
post(
  'a time far in the future',
  signed('ACME', 'item.report', { serials: ['SN-2'] }, { kind: 'lost', reference: 'r' }, null, {
    time: '2030-01-01T00:00:00Z',
  }),
  422,
  'CUSTODY_FUTURE_TIME',
);
post(
  'a transit for a shipment never dispatched',
  signed('DE-CUSTOMS', 'shipment.transit', { shipment: 'SHP-NONE' }, body(transit)),
  422,
  'CUSTODY_UNKNOWN_SUBJECT',
);
post(
  'a licence issued twice',
  signed('DE-BAFA', 'licence.issue', { licence: 'L-1' }, LICENCE, heads['licence:L-1']),
  409,
  'CUSTODY_SUBJECT_EXISTS',
);
post(
  'a second genesis',
  signed(
    'REGISTRAR',
    'ledger.genesis',
    {},
    {
      origin: 'hostile.custody.test/log',
      registrar: { id: 'REGISTRAR', name: 'again', country: 'CH', keys: [keyOf('REGISTRAR').vkey] },
      policy: { deliveryDays: 1, verificationDays: 1, maxBackdateDays: 1, maxFutureSeconds: 1 },
    },
  ),
  409,
  'CUSTODY_GENESIS_EXISTS',
);
post(
  'a correction by someone other than the signer',
  signed('EXPORTCO', 'event.correct', { event: heads['report:SN-1'] as string }, { reason: 'not mine' }),
  403,
  'CUSTODY_NOT_ORIGINAL_SIGNER',
);
post(
  'an entry over 64 KiB',
  signed(
    'ACME',
    'item.manufacture',
    { serials: Array.from({ length: 1100 }, (_, i) => `S${String(i).padStart(63, '0')}`) },
    { make: 'a', model: 'b', category: 'c', calibre: 'd', marking: {}, site: 'e' },
  ),
  413,
  'CUSTODY_ENTRY_TOO_LARGE',
);

// Reads with hostile parameters.
get('an entry index that is not a number', '/v1/entries/abc', 400, 'CUSTODY_SCHEMA');
get('an entry index of 23 digits', '/v1/entries/12345678901234567890123', 400, 'CUSTODY_SCHEMA');
get('a negative proof index', '/v1/proof/inclusion?index=-1', 400, 'CUSTODY_SCHEMA');
get(
  'a proof for a size beyond the tree',
  '/v1/proof/inclusion?index=0&size=999999',
  400,
  'CUSTODY_OUT_OF_RANGE',
);
get('a consistency proof from size 0', '/v1/proof/consistency?from=0', 400, 'CUSTODY_BAD_PROOF');
get('an unknown query parameter', '/v1/entries?start=0&evil=1', 400, 'CUSTODY_SCHEMA');
get('a tile path with leading zero groups', '/tile/0/x000/001', 404, 'CUSTODY_NOT_FOUND');
get('an unknown route', '/v1/admin', 404, 'CUSTODY_NO_ROUTE');
get('a history for nothing', '/v1/items/NOTHING', 404, 'CUSTODY_NOT_FOUND');

const out = fileURLToPath(new URL('./cases/', import.meta.url));
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
for (const [i, c] of cases.entries()) {
  const name = `${String(i + 1).padStart(3, '0')}-${c.description
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60)}.json`;
  writeFileSync(join(out, name), `${JSON.stringify(c, null, 2)}\n`);
}
console.log(`${cases.length} cases written to ${out}`);
