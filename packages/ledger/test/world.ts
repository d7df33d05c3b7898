/**
 * A small world for scenario tests: a real ledger on disk, parties with real
 * keys, and a clock the test moves. Submissions are signed locally and carry
 * the chain heads a careful client would fetch.
 */
import { join } from 'node:path';
import type { CustodyEvent, EventType, Role } from '../src/events/schema.js';
import { eventHash, type SignedEvent, signEvent } from '../src/events/sign.js';
import { chainOf } from '../src/events/vocabulary.js';
import type { Subject } from '../src/history.js';
import { generateKeyPair, type KeyPair } from '../src/keys.js';
import type { History } from '../src/ledger.js';
import { Ledger } from '../src/ledger.js';
import type { Receipt } from '../src/receipt.js';
import { generateSecretKey } from '../src/signature.js';
import { tempDir } from './helpers.js';

export const ORIGIN = 'custody.test/log';
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

type EventOf<T extends EventType> = Extract<CustodyEvent, { type: T }>;

export class World {
  now = new Date('2026-03-02T08:00:00Z');
  readonly keys = new Map<string, KeyPair>();
  private readonly heads = new Map<string, string>();
  private counter = 0;

  private constructor(
    readonly ledger: Ledger,
    readonly dir: string,
    /** The log's key, for a test that reopens the ledger. */
    readonly secretKey: Uint8Array,
  ) {}

  static async create(
    policy = { deliveryDays: 30, verificationDays: 60, maxBackdateDays: 7, maxFutureSeconds: 300 },
  ) {
    const dir = join(tempDir(), 'ledger');
    let world: World | undefined;
    const secretKey = generateSecretKey();
    const ledger = await Ledger.create(dir, {
      origin: ORIGIN,
      secretKey,
      clock: () => world?.now ?? new Date(),
    });
    world = new World(ledger, dir, secretKey);
    const registrar = generateKeyPair('REGISTRAR');
    world.keys.set('REGISTRAR', registrar);
    await world.submit(
      'REGISTRAR',
      'ledger.genesis',
      {},
      {
        origin: ORIGIN,
        registrar: { id: 'REGISTRAR', name: 'Custody registrar', country: 'CH', keys: [registrar.vkey] },
        policy,
      },
    );
    return world;
  }

  /** Advances the clock. */
  pass(ms: number): this {
    this.now = new Date(this.now.getTime() + ms);
    return this;
  }

  async register(id: string, roles: Role[], country: string, name = id): Promise<KeyPair> {
    const key = generateKeyPair(id);
    this.keys.set(id, key);
    await this.submit(
      'REGISTRAR',
      'party.register',
      { party: id },
      { name, roles, country, keys: [key.vkey] },
    );
    return key;
  }

  /** Signs an event as `signer`, with the tracked head as prev unless given. */
  sign<T extends EventType>(
    signer: string,
    type: T,
    subject: EventOf<T>['subject'],
    body: EventOf<T>['body'],
    options: { prev?: string | null; time?: string; id?: string; key?: KeyPair } = {},
  ): SignedEvent {
    const key = options.key ?? this.keys.get(signer);
    if (key === undefined) throw new Error(`no key for ${signer}`);
    const draft = {
      type,
      id: options.id ?? `evt-${++this.counter}-${type.replaceAll('.', '_')}`,
      time: options.time ?? this.now.toISOString(),
      prev: null,
      subject,
      body,
    } as unknown as CustodyEvent;
    const chain = chainOf(draft);
    const prev =
      options.prev !== undefined
        ? options.prev
        : chain === undefined
          ? null
          : (this.heads.get(chain) ?? null);
    return signEvent({ ...draft, prev } as never, key);
  }

  /** Submits a signed event and, on success, moves the chain head. */
  async send(signed: SignedEvent): Promise<Receipt> {
    const receipt = await this.ledger.submitOne(signed);
    const chain = chainOf(signed.event);
    if (chain !== undefined) this.heads.set(chain, eventHash(signed.event));
    return receipt;
  }

  submit<T extends EventType>(
    signer: string,
    type: T,
    subject: EventOf<T>['subject'],
    body: EventOf<T>['body'],
    options: Parameters<World['sign']>[4] = {},
  ): Promise<Receipt> {
    return this.send(this.sign(signer, type, subject, body, options));
  }

  history(subject: Subject): Promise<History> {
    return this.ledger.history(subject, this.now);
  }

  /** The flag codes of a serial's history, sorted. */
  async flagsOf(serial: string): Promise<string[]> {
    const h = await this.history({ serial });
    return h.flags.map((f) => f.code).sort();
  }
}

export const serials = (n: number, prefix = 'SN-') =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);

export const LICENCE_BODY = {
  exporter: 'EXPORTCO',
  consignee: 'KE-POLICE',
  endUser: 'Kenya National Police Service',
  euc: {
    number: 'EUC-2026-0042',
    issuer: 'KE Ministry of Interior',
    issued: '2026-01-10',
    expires: '2026-12-31',
    documentHash: 'ab'.repeat(32),
  },
  items: [{ model: 'G36', category: 'assault rifle', quantity: 100 }],
  route: ['NL'],
  validFrom: '2026-01-01',
  validUntil: '2026-12-31',
  endUse: 'law enforcement',
  conditions: { deliveryVerification: true, noReexport: true },
};

/**
 * The cast of the clean transfer: a German manufacturer and exporter, the
 * licensing authorities of Germany and Kenya, German and Dutch customs, and
 * the Kenyan police as consignee.
 */
export async function castOf(world: World): Promise<void> {
  await world.register('ACME', ['manufacturer'], 'DE', 'Acme Arms GmbH');
  await world.register('EXPORTCO', ['exporter'], 'DE', 'Acme Export GmbH');
  await world.register('DE-BAFA', ['licensing-authority'], 'DE', 'BAFA');
  await world.register('KE-NCC', ['licensing-authority'], 'KE', 'Kenya National Commission');
  await world.register('DE-CUSTOMS', ['customs'], 'DE', 'Zoll');
  await world.register('NL-CUSTOMS', ['customs'], 'NL', 'Douane');
  await world.register('KE-POLICE', ['consignee', 'exporter'], 'KE', 'Kenya National Police Service');
}

type Body<T extends CustodyEvent['type']> = EventOf<T>['body'];

/** The body of the clean transfer's manufacture, and of its customs transits. */
export const MANUFACTURE: Body<'item.manufacture'> = {
  make: 'Acme',
  model: 'G36',
  category: 'assault rifle',
  calibre: '5.56x45mm',
  marking: { manufacturer: 'ACME', country: 'DE', year: 2026 },
  site: 'Oberndorf',
  holder: 'EXPORTCO',
};

export const transit = (
  location: string,
  country: string,
  more: Partial<Body<'shipment.transit'>> = {},
): Body<'shipment.transit'> => ({
  location,
  country,
  direction: 'transshipment',
  sealsIntact: true,
  inspected: true,
  outcome: 'released',
  ...more,
});

export interface TransferOptions {
  items?: string[];
  /** The serials the manufacturer registers, when not all the items shipped. */
  manufactured?: string[];
  manufacture?: Partial<Body<'item.manufacture'>>;
  licence?: string;
  licenceBody?: Partial<typeof LICENCE_BODY>;
  /** Overrides of the exit and the transit transit bodies. */
  exit?: Partial<Body<'shipment.transit'>>;
  transit?: Partial<Body<'shipment.transit'>>;
  /** Milliseconds the exit's claimed time lies from the clock (negative: backdated). */
  exitTimeOffset?: number;
  /** Called between steps to insert events; return true to skip the step. */
  at?: (
    step: 'manufacture' | 'licence' | 'dispatch' | 'exit' | 'transit' | 'deliver' | 'verify',
  ) => Promise<boolean | undefined>;
  sighted?: string[];
  transitCountry?: { signer: string; country: string; location: string };
  consignee?: string;
}

/** The clean transfer, step by step; options divert one thing at a time. */
export async function transfer(world: World, options: TransferOptions = {}): Promise<string[]> {
  const items = options.items ?? serials(100);
  const licence = options.licence ?? 'DE-L-2026-0001';
  const step = async (
    name: Parameters<NonNullable<TransferOptions['at']>>[0],
    run: () => Promise<unknown>,
  ) => {
    if ((await options.at?.(name)) !== true) await run();
    world.pass(6 * HOUR);
  };
  await step('manufacture', () =>
    world.submit(
      'ACME',
      'item.manufacture',
      { serials: options.manufactured ?? items },
      { ...MANUFACTURE, ...options.manufacture },
    ),
  );
  await step('licence', () =>
    world.submit('DE-BAFA', 'licence.issue', { licence }, { ...LICENCE_BODY, ...options.licenceBody }),
  );
  await step('dispatch', () =>
    world.submit(
      'EXPORTCO',
      'shipment.dispatch',
      { shipment: 'SHP-1' },
      { licence, serials: items, from: 'DEHAM', to: 'KEMBA', seals: ['SEAL-1'] },
    ),
  );
  await step('exit', () =>
    world.submit(
      'DE-CUSTOMS',
      'shipment.transit',
      { shipment: 'SHP-1' },
      transit('DEHAM', 'DE', { direction: 'exit', inspected: false, ...options.exit }),
      options.exitTimeOffset === undefined
        ? {}
        : { time: new Date(world.now.getTime() + options.exitTimeOffset).toISOString() },
    ),
  );
  const via = options.transitCountry ?? { signer: 'NL-CUSTOMS', country: 'NL', location: 'NLRTM' };
  await step('transit', () =>
    world.submit(
      via.signer,
      'shipment.transit',
      { shipment: 'SHP-1' },
      transit(via.location, via.country, {
        serialsSighted: options.sighted ?? items.slice(0, 5),
        ...options.transit,
      }),
    ),
  );
  await step('deliver', () =>
    world.submit(
      options.consignee ?? 'KE-POLICE',
      'shipment.deliver',
      { shipment: 'SHP-1' },
      { location: 'KEMBA', serialsReceived: items },
    ),
  );
  await step('verify', () =>
    world.submit(
      'KE-NCC',
      'delivery.verify',
      { shipment: 'SHP-1' },
      { serialsConfirmed: items, method: 'on-site', endUseConfirmed: true },
    ),
  );
  return items;
}
