/**
 * The v1 event vocabulary as TypeBox schemas: one source for the runtime check
 * (with the failing field named), the TypeScript types and, in the node, the
 * OpenAPI document. Every object refuses unknown members, and nothing is
 * coerced or defaulted: an event is judged exactly as its signer signed it.
 */
import * as Type from 'typebox/type';

const str = (pattern: string, description: string, maxLength = 128) =>
  Type.String({ pattern, maxLength, description });

export const PartyId = str('^[A-Z0-9][A-Z0-9-]{1,63}$', 'party id, e.g. DE-BAFA', 64);
export const Country = str('^[A-Z]{2}$', 'ISO 3166-1 alpha-2 country code', 2);
export const Locode = str('^[A-Z]{2}[A-Z2-9]{3}$', 'UN/LOCODE, e.g. NLRTM', 5);
export const Serial = str('^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$', 'serial number', 64);
export const ObjectId = str('^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$', 'licence or shipment id', 64);
export const EventId = str('^[A-Za-z0-9_-]{8,64}$', 'event id, unique per signer', 64);
export const Hash = str('^[0-9a-f]{64}$', 'SHA-256, lower-case hex', 64);
export const KeyIdHex = str('^[0-9a-f]{8}$', 'key ID, 8 hex digits', 8);
export const Time = str(
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$',
  'RFC 3339 time in UTC',
  40,
);
export const DateOnly = str('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', 'calendar date, YYYY-MM-DD', 10);
export const Vkey = Type.String({ minLength: 10, maxLength: 200, description: 'C2SP verifier key' });
/** Free text: no control characters, which would let one string read as two in logs and keys. */
const Text = (maxLength = 500) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
/** A sensitive value given as a salted SHA-256 commitment, to be disclosed selectively. */
export const Commitment = Type.Object(
  { commitment: Hash },
  { additionalProperties: false, description: 'SHA-256 over salt (≥ 128 bits) and value' },
);
const Serials = (maxItems = 5000) => Type.Array(Serial, { minItems: 1, maxItems, uniqueItems: true });
const obj = <T extends Record<string, Type.TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

export const ROLES = [
  'registrar',
  'manufacturer',
  'exporter',
  'licensing-authority',
  'customs',
  'carrier',
  'consignee',
  'inspector',
] as const;
export type Role = (typeof ROLES)[number];
const RoleSchema = Type.Enum(ROLES);

const PartyBody = obj({
  name: Text(200),
  roles: Type.Array(RoleSchema, { minItems: 1, maxItems: ROLES.length, uniqueItems: true }),
  country: Country,
  keys: Type.Array(Vkey, { minItems: 1, maxItems: 16, uniqueItems: true }),
});

export const Policy = obj({
  deliveryDays: Type.Integer({
    minimum: 1,
    maximum: 3650,
    description: 'days from dispatch until a delivery is overdue',
  }),
  verificationDays: Type.Integer({
    minimum: 1,
    maximum: 3650,
    description: 'days from delivery until verification is overdue',
  }),
  maxBackdateDays: Type.Integer({
    minimum: 0,
    maximum: 3650,
    description: 'how far a claimed time may precede its receipt',
  }),
  maxFutureSeconds: Type.Integer({
    minimum: 0,
    maximum: 86400,
    description: 'how far a claimed time may lie ahead of the node',
  }),
});
export type Policy = Type.Static<typeof Policy>;

const LicenceTerms = {
  exporter: PartyId,
  consignee: PartyId,
  endUser: Type.Union([Text(200), Commitment]),
  euc: Type.Optional(
    obj({
      number: Type.Union([Text(100), Commitment]),
      issuer: Text(200),
      issued: DateOnly,
      expires: DateOnly,
      documentHash: Hash,
      endUser: Type.Optional(Type.Union([Text(200), Commitment])),
      consignee: Type.Optional(PartyId),
    }),
  ),
  items: Type.Array(
    obj({
      model: Text(100),
      category: Text(100),
      quantity: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
    }),
    {
      minItems: 1,
      maxItems: 100,
    },
  ),
  route: Type.Array(Country, { maxItems: 50, uniqueItems: true }),
  validFrom: DateOnly,
  validUntil: DateOnly,
  endUse: Text(500),
  conditions: obj({ deliveryVerification: Type.Boolean(), noReexport: Type.Boolean() }),
};

const shipment = obj({ shipment: ObjectId });
const licence = obj({ licence: ObjectId });
const party = obj({ party: PartyId });

/** Per type: the shape of its subject and body. */
export const VOCABULARY = {
  'ledger.genesis': {
    subject: obj({}),
    body: obj({
      origin: Text(200),
      registrar: obj({ id: PartyId, name: Text(200), country: Country, keys: PartyBody.properties.keys }),
      policy: Policy,
    }),
  },
  'party.register': { subject: party, body: PartyBody },
  'party.update': { subject: party, body: PartyBody },
  'party.revoke-key': {
    subject: party,
    body: obj({ key: KeyIdHex, reason: Text(500), compromisedSince: Type.Optional(Time) }),
  },
  'item.manufacture': {
    subject: obj({ serials: Serials() }),
    body: obj({
      make: Text(100),
      model: Text(100),
      category: Text(100),
      calibre: Text(50),
      // Optional on purpose: an incomplete marking is evidence to flag, not input to refuse.
      marking: obj({
        manufacturer: Type.Optional(Type.String({ maxLength: 200 })),
        country: Type.Optional(Type.String({ maxLength: 2 })),
        year: Type.Optional(Type.Integer({ minimum: 1800, maximum: 2200 })),
      }),
      site: Text(200),
      /** Who holds the items once made, if not the manufacturer (e.g. its exporting arm). */
      holder: Type.Optional(PartyId),
    }),
  },
  'licence.issue': { subject: licence, body: obj(LicenceTerms) },
  'licence.amend': {
    subject: licence,
    body: obj({
      reason: Text(500),
      terms: Type.Partial(obj(LicenceTerms)),
    }),
  },
  'licence.suspend': { subject: licence, body: obj({ reason: Text(500) }) },
  'licence.revoke': { subject: licence, body: obj({ reason: Text(500) }) },
  'shipment.dispatch': {
    subject: shipment,
    body: obj({
      licence: ObjectId,
      serials: Serials(),
      from: Locode,
      to: Locode,
      carrier: Type.Optional(PartyId),
      seals: Type.Array(Text(64), { maxItems: 100 }),
    }),
  },
  'shipment.transit': {
    subject: shipment,
    body: obj({
      location: Locode,
      country: Country,
      direction: Type.Union([Type.Literal('entry'), Type.Literal('exit'), Type.Literal('transshipment')]),
      sealsIntact: Type.Boolean(),
      inspected: Type.Boolean(),
      serialsSighted: Type.Optional(Serials()),
      outcome: Type.Union([Type.Literal('released'), Type.Literal('held'), Type.Literal('seized')]),
    }),
  },
  'shipment.deliver': { subject: shipment, body: obj({ location: Locode, serialsReceived: Serials() }) },
  'delivery.verify': {
    subject: shipment,
    body: obj({
      serialsConfirmed: Serials(),
      method: Type.Union([Type.Literal('documentary'), Type.Literal('on-site')]),
      endUseConfirmed: Type.Boolean(),
    }),
  },
  'item.report': {
    subject: obj({ serials: Serials() }),
    body: obj({
      kind: Type.Enum(['lost', 'stolen', 'seized', 'recovered', 'destroyed', 'deactivated']),
      location: Type.Optional(Locode),
      reference: Text(200),
    }),
  },
  'event.correct': { subject: obj({ event: Hash }), body: obj({ reason: Text(1000) }) },
} as const;

export type EventType = keyof typeof VOCABULARY;
export const EVENT_TYPES = Object.keys(VOCABULARY) as EventType[];

/** The members every event has; `subject` and `body` are checked per type. */
export const Envelope = obj({
  v: Type.Literal(1),
  type: Type.Enum(EVENT_TYPES),
  id: EventId,
  time: Time,
  signer: PartyId,
  key: KeyIdHex,
  prev: Type.Union([Hash, Type.Null()]),
  subject: Type.Object({}),
  body: Type.Object({}),
});

/**
 * The whole v1 event as one schema (a union by type), for documentation such
 * as OpenAPI; built on demand, as only the node needs it.
 */
export function eventSchema() {
  return Type.Union(
    EVENT_TYPES.map((t) =>
      obj({
        ...Envelope.properties,
        type: Type.Literal(t),
        subject: VOCABULARY[t].subject,
        body: VOCABULARY[t].body,
      }),
    ),
    {
      description:
        'A custody event (v1); its signature covers custody/event/v1\\n followed by its RFC 8785 bytes',
    },
  );
}

type EventOf<T extends EventType> = {
  v: 1;
  type: T;
  id: string;
  time: string;
  signer: string;
  key: string;
  prev: string | null;
  subject: Type.Static<(typeof VOCABULARY)[T]['subject']>;
  body: Type.Static<(typeof VOCABULARY)[T]['body']>;
};

/** A custody event, discriminated by `type`. */
export type CustodyEvent = { [T in EventType]: EventOf<T> }[EventType];
export type EventOfType<T extends EventType> = EventOf<T>;

/** An event as the log holds it: where, when received, and its hash. */
export interface LoggedEvent {
  readonly index: number;
  /** The node's receive time (RFC 3339). */
  readonly received: string;
  readonly event: CustodyEvent;
  readonly sig: string;
  /** SHA-256 of the signed message, hex. */
  readonly hash: string;
  /** The signed message (see signedMessage), when the reader has it already, to spare forming it again. */
  readonly message?: Uint8Array;
}
