/** The checkpoint a node serves, if it has one: a mirror that has not synced yet has none. */
import { CustodyError } from '@custody/ledger';

export function checkpointOrUnavailable(checkpoint: () => string): string {
  const note = checkpoint();
  if (note === '')
    throw new CustodyError(
      'CUSTODY_UNAVAILABLE',
      'this mirror has not synced with its source yet; retry shortly',
      503,
    );
  return note;
}
