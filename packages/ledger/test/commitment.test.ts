import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { commit, opens } from '../src/commitment.js';
import { parseEvent } from '../src/events/parse.js';
import { failsWith } from './helpers.js';
import { LICENCE_BODY } from './world.js';

describe('salted commitments for sensitive fields', () => {
  test('a licence may name its end user by commitment, disclosed later', () => {
    const { commitment, disclosure } = commit('Directorate of Special Operations');
    const event = parseEvent({
      v: 1,
      type: 'licence.issue',
      id: 'lic-issue-001',
      time: '2026-03-01T10:00:00Z',
      signer: 'DE-BAFA',
      key: '0a0b0c0d',
      prev: null,
      subject: { licence: 'L-1' },
      body: { ...LICENCE_BODY, endUser: { commitment } },
    });
    expect(event.type).toBe('licence.issue');
    expect(opens({ commitment }, disclosure)).toBe(true);
    expect(opens(commitment, { ...disclosure, value: 'Someone else' })).toBe(false);
  });

  test('salts shorter than 128 bits are refused', async () => {
    expect(await failsWith(() => commit('x', new Uint8Array(15)))).toBe('CUSTODY_BAD_INPUT');
    const { commitment } = commit('x', new Uint8Array(16));
    expect(opens(commitment, { value: 'x', salt: '00'.repeat(15) })).toBe(false);
  });

  prop.prop([fc.string(), fc.string()])('a commitment opens only with its own value', (a, b) => {
    const { commitment, disclosure } = commit(a);
    expect(opens(commitment, disclosure)).toBe(true);
    if (a !== b) expect(opens(commitment, { ...disclosure, value: b })).toBe(false);
  });
});
