/**
 * Request and response schemas of the HTTP API: the validation, the
 * serialization and the OpenAPI document come from these alone. Numbers that
 * address the log (indices, sizes) travel as decimal strings in queries so
 * that nothing is rounded on the way in.
 */
import { eventSchema } from '@custody/ledger';
import Type from 'typebox';

const Decimal = Type.String({
  pattern: '^(0|[1-9][0-9]{0,19})$',
  description: 'non-negative integer, decimal',
});
const B64Hash = Type.String({ description: 'SHA-256, base64' });
const Hex = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256, hex' });

export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'stable error code, e.g. CUSTODY_STALE_PREV' }),
    message: Type.String({ description: 'what was wrong and what to do' }),
    requestId: Type.String(),
  },
  { $id: 'Error' },
);

export const Submission = Type.Object(
  {
    event: eventSchema(),
    sig: Type.String({ description: 'base64 Ed25519 signature over custody/event/v1\\n || JCS(event)' }),
  },
  { additionalProperties: false },
);

export const Receipt = Type.Object({
  index: Type.Integer(),
  leafHash: Hex,
  eventHash: Hex,
  checkpoint: Type.String({ description: 'C2SP signed checkpoint the proof leads to' }),
  inclusionProof: Type.Array(B64Hash, { description: 'RFC 9162 inclusion proof, leaf sibling first' }),
});

export const Entry = Type.Object({
  index: Type.Integer(),
  leaf: Type.String({ description: 'base64 of the exact leaf bytes' }),
  event: Type.Unknown({ description: 'the event, parsed from the leaf' }),
});

export const EntriesQuery = Type.Object(
  { start: Decimal, end: Type.Optional(Decimal) },
  { additionalProperties: false },
);
export const EntriesPage = Type.Object({
  entries: Type.Array(Entry),
  size: Type.Integer({ description: 'tree size the page was read at' }),
  next: Type.Optional(Type.Integer({ description: 'start of the next page, if the range went on' })),
});
export const IndexParams = Type.Object({ index: Decimal });

export const InclusionQuery = Type.Object(
  { index: Decimal, size: Type.Optional(Decimal) },
  { additionalProperties: false },
);
export const InclusionProof = Type.Object({
  index: Type.Integer(),
  size: Type.Integer(),
  proof: Type.Array(B64Hash),
});
export const ConsistencyQuery = Type.Object(
  { from: Decimal, to: Type.Optional(Decimal) },
  { additionalProperties: false },
);
export const ConsistencyProof = Type.Object({
  from: Type.Integer(),
  to: Type.Integer(),
  proof: Type.Array(B64Hash),
});

export const HeadQuery = Type.Object(
  {
    chain: Type.String({
      pattern: '^(shipment|licence|party|event):[^\\s]{1,64}$',
      description: 'e.g. shipment:SHP-1',
    }),
  },
  { additionalProperties: false },
);
export const Head = Type.Object({ chain: Type.String(), head: Type.Union([Hex, Type.Null()]) });

export const HistoryQuery = Type.Object(
  {
    now: Type.Optional(
      Type.String({ description: 'judge as of this RFC 3339 time (default: the node’s clock)' }),
    ),
  },
  { additionalProperties: false },
);
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const SerialParams = Type.Object({ serial: Type.String({ minLength: 1, maxLength: 64 }) });

const Flag = Type.Object({
  code: Type.String(),
  severity: Type.Union([Type.Literal('high'), Type.Literal('medium'), Type.Literal('low')]),
  entries: Type.Array(Type.Integer()),
  message: Type.String(),
});

const TimelineItem = Type.Object({
  index: Type.Integer(),
  hash: Hex,
  time: Type.String(),
  received: Type.String(),
  type: Type.String(),
  signer: Type.String(),
  summary: Type.String(),
  correctedBy: Type.Array(Hex),
});

export const History = Type.Object(
  {
    subject: Type.Record(Type.String(), Type.String()),
    now: Type.String(),
    size: Type.Integer({ description: 'tree size the history was read at' }),
    verdict: Type.Union([Type.Literal('clean'), Type.Literal('flagged'), Type.Literal('invalid')]),
    flags: Type.Array(Flag),
    timeline: Type.Array(TimelineItem),
    problems: Type.Array(Type.String()),
  },
  { $id: 'History' },
);

export const Bundle = Type.Object(
  {
    format: Type.Literal('custody/bundle/v1'),
    subject: Type.Record(Type.String(), Type.String()),
    log: Type.String(),
    checkpoint: Type.String(),
    entries: Type.Array(
      Type.Object({ leaf: Type.String(), proof: Type.String({ description: 'C2SP tlog-proof' }) }),
    ),
  },
  { $id: 'Bundle' },
);

export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('alarm')], {
    description: 'alarm: a mirror caught its source misbehaving',
  }),
  origin: Type.String(),
  size: Type.Integer({ description: 'size of the tree served' }),
  queue: Type.Integer(),
  mirror: Type.Optional(
    Type.Object({
      source: Type.String(),
      following: Type.Boolean(),
      size: Type.Integer({
        description: 'entries held: while catching up in parts, more than the tree served',
      }),
      lastSync: Type.Optional(Type.String()),
      alarm: Type.Optional(
        Type.Object({
          reason: Type.String(),
          accepted: Type.String(),
          presented: Type.String(),
          at: Type.String(),
        }),
      ),
    }),
  ),
});
