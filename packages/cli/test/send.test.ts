import { Command } from 'commander';
import { describe, expect, test } from 'vitest';
import { optionSetting } from '../src/send.js';

describe('the option that set an event field', () => {
  const manufacture = () =>
    new Command('manufacture')
      .exitOverride()
      .option('--serials <list>')
      .option('--marking-country <cc>')
      .option('--year <year>', 'year', Number)
      .option('--roles <list>')
      .option('--vkey <vkey>', 'repeatable', (v: string, p: string[]) => [...p, v], [])
      .option('--compromised-since <time>');
  const given = (args: string[]) => manufacture().parse(args, { from: 'user' });

  test('is found by the field’s last name, or its last two, in the option’s spelling, given that value', () => {
    const c = given([
      '--marking-country',
      'de',
      '--year',
      '26',
      '--compromised-since',
      'yesterday',
      '--serials',
      'A-1,B 2',
      '--roles',
      'customs, customz',
      '--vkey',
      'k1',
      '--vkey',
      'bad',
    ]);
    expect(optionSetting(c, 'body.marking.country', 'de')).toBe('--marking-country');
    expect(optionSetting(c, 'body.marking.year', 26)).toBe('--year');
    expect(optionSetting(c, 'body.compromisedSince', 'yesterday')).toBe('--compromised-since');
    expect(optionSetting(c, 'subject.serials.1', 'B 2')).toBe('--serials');
    expect(optionSetting(c, 'body.roles.1', 'customz')).toBe('--roles');
    expect(optionSetting(c, 'body.vkey.1', 'bad')).toBe('--vkey');
  });

  test('is not guessed: no option of that name, or one that was given another value', () => {
    const c = given(['--marking-country', 'DE', '--serials', 'A-1']);
    expect(optionSetting(c, 'subject.party', 'X')).toBeUndefined();
    expect(optionSetting(c, 'body', {})).toBeUndefined();
    expect(optionSetting(c, '', undefined)).toBeUndefined();
    // Named like the field, but given another value: it set something else.
    expect(optionSetting(c, 'body.marking.country', 'de')).toBeUndefined();
    expect(optionSetting(c, 'body.euc.country', 'DE')).toBeUndefined();
    expect(optionSetting(c, 'subject.serials.0', 'A-2')).toBeUndefined();
    expect(optionSetting(given([]), 'body.compromisedSince', 'yesterday')).toBeUndefined();
  });
});
