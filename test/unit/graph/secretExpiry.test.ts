import { describe, expect, it } from 'vitest';
import { secretExpiryFrom } from '../../../src/graph/secretExpiry';

const now = new Date('2026-12-03T00:00:00Z');
const secret = 'Abc~verysecretvalue';

describe("a client secret's end date from the app registration", () => {
  it('finds the configured secret by its first three characters and warns 30 and 7 days ahead', () => {
    const at = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();
    expect(secretExpiryFrom([{ hint: 'Abc', endDateTime: at(400), displayName: 'prod' }], secret, now)).toMatchObject({ level: 'ok', daysLeft: 400 });
    expect(secretExpiryFrom([{ hint: 'Abc', endDateTime: at(29.5) }], secret, now)).toMatchObject({ level: 'expiring', daysLeft: 29 });
    expect(secretExpiryFrom([{ hint: 'Abc', endDateTime: at(6.5), displayName: 'prod' }], secret, now)).toMatchObject({
      level: 'urgent', daysLeft: 6, detail: expect.stringContaining('the client secret "prod" expires on'),
    });
    expect(secretExpiryFrom([{ hint: 'Abc', endDateTime: at(-1) }], secret, now)).toMatchObject({ level: 'expired' });
  });

  it('reports the earliest of secrets that start alike, and unknown when none matches', () => {
    const two = secretExpiryFrom([
      { hint: 'Abc', endDateTime: '2028-01-01T00:00:00Z' }, { hint: 'Abc', endDateTime: '2027-01-01T00:00:00Z' }, { hint: 'Xyz', endDateTime: '2026-12-05T00:00:00Z' },
    ], secret, now);
    expect(two).toMatchObject({ expiresAt: '2027-01-01T00:00:00.000Z', detail: expect.stringContaining('2 secrets start alike') });
    const none = secretExpiryFrom([{ hint: 'Xyz', endDateTime: '2027-01-01T00:00:00Z' }, { hint: 'Abc', endDateTime: 'not a date' }], secret, now);
    expect(none).toMatchObject({ level: 'unknown', expiresAt: null });
    for (const answer of [two, none]) expect(JSON.stringify(answer)).not.toContain(secret.slice(3));
  });
});
