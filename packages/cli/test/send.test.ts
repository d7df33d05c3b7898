import { Command } from 'commander';
import { describe, expect, test } from 'vitest';
import { optionSetting } from '../src/send.js';

describe('the option that set an event field', () => {
  const manufacture = new Command('manufacture')
    .option('--serials <list>')
    .option('--marking-country <cc>')
    .option('--year <year>')
    .option('--compromised-since <time>');

  test('is found by the field’s last name, or its last two, in the option’s spelling', () => {
    expect(optionSetting(manufacture, 'body.marking.country')).toBe('--marking-country');
    expect(optionSetting(manufacture, 'body.marking.year')).toBe('--year');
    expect(optionSetting(manufacture, 'body.compromisedSince')).toBe('--compromised-since');
    expect(optionSetting(manufacture, 'subject.serials.12')).toBe('--serials');
  });

  test('is not guessed when the command has no option of that name', () => {
    expect(optionSetting(manufacture, 'subject.party')).toBeUndefined();
    expect(optionSetting(manufacture, 'body')).toBeUndefined();
    expect(optionSetting(manufacture, '')).toBeUndefined();
  });
});
