/**
 * Building, signing and sending events. The event is built and signed here
 * with the local key file; only the signed event goes to the node, and the
 * receipt that comes back is checked against the log's key before it is
 * believed.
 */
import { randomBytes } from 'node:crypto';
import {
  type CustodyEvent,
  chainOf,
  type EventOfType,
  type EventType,
  eventProblem,
  type KeyPair,
  type Receipt,
  signEvent,
  verifyReceipt,
} from '@custody/ledger';
import type { Command } from 'commander';
import type { NodeClient } from './client.js';
import { CliError, EXIT } from './exit.js';

export interface Sent {
  readonly receipt: Receipt;
  readonly event: CustodyEvent;
}

/** A fresh event id: 128 random bits, hex. */
export const newEventId = (): string => randomBytes(16).toString('hex');

/** Now, to the second, as signers write it. */
export const nowIso = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The option of `command` that set an event field: one named like the field
 * (body.compromisedSince is --compromised-since, body.marking.country
 * --marking-country, body.roles.0 --roles) and given that very value.
 * Undefined when there is none, so that an option that happens to share a
 * field's name but set something else is never blamed.
 */
export function optionSetting(command: Command, field: string, value: unknown): string | undefined {
  const names = field
    .split('.')
    .slice(1)
    .filter((part) => !/^\d+$/.test(part));
  const flag = (parts: string[]) =>
    `--${parts.map((p) => p.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join('-')}`;
  const gave = (given: unknown): boolean =>
    Array.isArray(given)
      ? given.some(gave)
      : (typeof given === 'string' || typeof given === 'number') &&
        (typeof value === 'string' || typeof value === 'number') &&
        (String(given) === String(value) ||
          String(given)
            .split(',')
            .some((part) => part.trim() === value));
  const option = [flag(names.slice(-1)), flag(names.slice(-2))]
    .map((long) => command.options.find((o) => o.long === long))
    .find((o) => o !== undefined && gave(command.getOptionValue(o.attributeName())));
  return option?.long;
}

/** The value at a field path (as eventProblem names them) of an event. */
function valueAt(event: object, field: string): unknown {
  return field
    .split('.')
    .reduce<unknown>(
      (at, key) => (at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined),
      event,
    );
}

export async function sendEvent<T extends EventType>(
  client: NodeClient,
  key: KeyPair,
  type: T,
  subject: EventOfType<T>['subject'],
  body: EventOfType<T>['body'],
  /** `command`: the command whose options built the event, to name them if the event is refused here. */
  options: { time?: string; logKey?: string; command?: Command } = {},
): Promise<Sent> {
  const draft = {
    v: 1,
    type,
    id: newEventId(),
    time: options.time ?? nowIso(),
    signer: key.name,
    key: key.keyId,
    prev: null,
    subject,
    body,
  } as CustodyEvent;
  // Checked here, before anything is signed or sent, so that a refusal can
  // name the option (the node would answer with the event's field).
  const problem = eventProblem(draft);
  if (problem !== undefined) {
    const option =
      options.command === undefined
        ? undefined
        : optionSetting(options.command, problem.field, valueAt(draft, problem.field));
    const field = `the event's ${problem.field || 'form'}`;
    throw new CliError(
      `${option === undefined ? field : `${option}: ${field}`} ${problem.why}; nothing was sent`,
    );
  }
  const chain = chainOf(draft);
  const prev =
    chain === undefined
      ? null
      : (await client.json<{ head: string | null }>(`/v1/heads?chain=${encodeURIComponent(chain)}`)).head;
  const signed = signEvent({ ...draft, prev } as never, key);
  const receipt = await client.post<Receipt>('/v1/events', signed);
  checkReceipt(receipt, options.logKey ?? (await client.text('/v1/log-key')).trim());
  return { receipt, event: signed.event };
}

/** A receipt is believed only if its proof leads to a checkpoint the log signed. */
export function checkReceipt(receipt: Receipt, logKey: string): void {
  if (!verifyReceipt(receipt, logKey)) {
    throw new CliError(
      `the node's receipt for entry ${receipt.index} does not verify against the log key; do not rely on it`,
      EXIT.invalid,
      'CUSTODY_BAD_RECEIPT',
    );
  }
}
