/** Custody red flags: stable codes, one severity each, and the entries that raise them. */

export type FlagCode =
  | 'UNREGISTERED_ITEM'
  | 'DUPLICATE_SERIAL'
  | 'INCOMPLETE_MARKING'
  | 'NO_LICENCE'
  | 'LICENCE_NOT_VALID'
  | 'LICENCE_QUANTITY_EXCEEDED'
  | 'EUC_PROBLEM'
  | 'NOT_CUSTODIAN'
  | 'ROUTE_DEVIATION'
  | 'SERIAL_MISMATCH'
  | 'SEAL_BROKEN'
  | 'HELD_OR_SEIZED'
  | 'CONSIGNEE_MISMATCH'
  | 'DELIVERY_OVERDUE'
  | 'VERIFICATION_OVERDUE'
  | 'REEXPORT_WITHOUT_CONSENT'
  | 'AFTER_TERMINAL'
  | 'IMPOSSIBLE_TIMELINE'
  | 'REVOKED_KEY'
  | 'WRONG_JURISDICTION';

export type Severity = 'high' | 'medium' | 'low';

/** How serious each flag is, fixed per code so every verifier ranks alike. */
export const SEVERITY: Readonly<Record<FlagCode, Severity>> = {
  UNREGISTERED_ITEM: 'high',
  DUPLICATE_SERIAL: 'high',
  INCOMPLETE_MARKING: 'medium',
  NO_LICENCE: 'high',
  LICENCE_NOT_VALID: 'high',
  LICENCE_QUANTITY_EXCEEDED: 'high',
  EUC_PROBLEM: 'high',
  NOT_CUSTODIAN: 'high',
  ROUTE_DEVIATION: 'high',
  SERIAL_MISMATCH: 'high',
  SEAL_BROKEN: 'medium',
  HELD_OR_SEIZED: 'medium',
  CONSIGNEE_MISMATCH: 'high',
  DELIVERY_OVERDUE: 'medium',
  VERIFICATION_OVERDUE: 'medium',
  REEXPORT_WITHOUT_CONSENT: 'high',
  AFTER_TERMINAL: 'high',
  IMPOSSIBLE_TIMELINE: 'medium',
  REVOKED_KEY: 'high',
  WRONG_JURISDICTION: 'medium',
};

export interface Flag {
  readonly code: FlagCode;
  readonly severity: Severity;
  /** Log indices of the entries that raise it, ascending. */
  readonly entries: readonly number[];
  /** One sentence a person can read. */
  readonly message: string;
}

export function flag(code: FlagCode, entries: readonly number[], message: string): Flag {
  return { code, severity: SEVERITY[code], entries: [...new Set(entries)].sort((a, b) => a - b), message };
}
