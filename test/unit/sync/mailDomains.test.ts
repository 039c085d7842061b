import { describe, expect, it } from 'vitest';
import { mailDomainOf, UNVERIFIED_MAIL_EXAMPLES, UnverifiedMailTally } from '../../../src/sync/mailDomains';

describe('mailDomainOf', () => {
  it('takes the part after the last @, in lower case', () => {
    expect(mailDomainOf('Ann.Lee@Contoso.COM')).toBe('contoso.com');
    expect(mailDomainOf('"a@b"@fabrikam.example')).toBe('fabrikam.example');
  });

  it('has no domain for no mail, no @ or nothing after it', () => {
    expect(mailDomainOf(null)).toBeUndefined();
    expect(mailDomainOf('ann')).toBeUndefined();
    expect(mailDomainOf('ann@')).toBeUndefined();
  });
});

describe('UnverifiedMailTally', () => {
  it('counts users whose mail domain is not verified, exactly (a subdomain is verified on its own), case-insensitively', () => {
    const tally = new UnverifiedMailTally(new Set(['contoso.com']));
    tally.add({ id: 'u1', mail: 'a@CONTOSO.com' });
    tally.add({ id: 'u2', mail: 'b@eu.contoso.com' });
    tally.add({ id: 'u3', mail: null });
    tally.add({ id: 'u4', mail: 'd@contoso.co' });
    tally.add({ id: 'u5', mail: 'e@contoso.co' });
    expect(tally.report()).toEqual({
      count: 3,
      examples: [{ userId: 'u2', mail: 'b@eu.contoso.com' }, { userId: 'u4', mail: 'd@contoso.co' }, { userId: 'u5', mail: 'e@contoso.co' }],
      domains: [{ domain: 'contoso.co', users: 2 }, { domain: 'eu.contoso.com', users: 1 }],
    });
  });

  it('keeps the first few examples by user id, whatever order the users come in, and counts them all', () => {
    const tally = new UnverifiedMailTally(new Set());
    const ids = Array.from({ length: 200 }, (_, i) => `u${String(i).padStart(3, '0')}`);
    for (const id of [...ids].reverse()) tally.add({ id, mail: `${id}@typo.example` });
    const report = tally.report();
    expect(report.count).toBe(200);
    expect(report.examples.map((example) => example.userId)).toEqual(ids.slice(0, UNVERIFIED_MAIL_EXAMPLES));
  });
});
