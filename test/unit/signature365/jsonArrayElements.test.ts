import { describe, expect, it } from 'vitest';
import { jsonArrayElements } from '../../../src/signature365/jsonArrayElements';

const all = (text: string) => [...jsonArrayElements(text, 'value')];

describe('jsonArrayElements', () => {
  it('hands out the elements exactly as JSON.parse reads them, whatever the spacing, strings and nesting', () => {
    const value = [
      { id: 'a', name: 'quote " backslash \\ brace } bracket ] comma ,', list: [1, [2, { x: null }]], ok: true },
      'a string with \\" and \u00e9 and \ud83d\ude00',
      -12.5e3, null, false, [], {},
    ];
    for (const text of [JSON.stringify({ value }), JSON.stringify({ before: { value: [9] }, value, after: 'x' }, null, 2), ` \n{ "value" : ${JSON.stringify(value)} } \n`]) {
      expect(all(text)).toEqual(value);
    }
    expect(all('{"value":[]}')).toEqual([]);
  });

  it('agrees with JSON.parse on random bodies (an independent oracle)', () => {
    let seed = 16;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
    const chars = ['a', '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\n', 'é', '\u2028', '\ud83d\ude00'];
    const anyValue = (depth: number): unknown => {
      const kind = depth > 3 ? pick(['s', 'n', 'l']) : pick(['s', 'n', 'l', 'a', 'o']);
      if (kind === 's') return Array.from({ length: Math.floor(random() * 8) }, () => pick(chars)).join('');
      if (kind === 'n') return Math.round(random() * 1e6) / 100 - 5000;
      if (kind === 'l') return pick([null, true, false]);
      if (kind === 'a') return Array.from({ length: Math.floor(random() * 4) }, () => anyValue(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`${pick(chars)}${i}`, anyValue(depth + 1)]));
    };
    for (let round = 0; round < 300; round += 1) {
      const value = Array.from({ length: Math.floor(random() * 6) }, () => anyValue(0));
      const text = JSON.stringify({ other: anyValue(1), value }, null, round % 2 === 0 ? undefined : 1);
      expect(all(text)).toEqual((JSON.parse(text) as { value: unknown[] }).value);
    }
  });

  it('refuses bodies that are not one object with one "value" array', () => {
    for (const text of ['', '[]', '{}', '{"value": {}}', '{"value": [1, 2]', '{"value": [1 2]}', '{"value": [1,]}', '{"value": [1]} x',
      '{"value": [1], "value": [2]}', '{"value": ["unterminated]}', '{"value": [tru]}', '{"other": [}, "value": []}', 'null']) {
      expect(() => all(text), text).toThrow(SyntaxError);
    }
  });
});
