/** When the plan reads mailbox types (src/sync/mailboxTypes.ts) and how Graph's userPurpose maps to the contract. */
import { describe, expect, it } from 'vitest';
import { mailboxTypeOfPurpose } from '../../../src/graph/mailboxTypes';
import { silentLogger } from '../../../src/sync/logger';
import { fillMailboxTypes, usersNeedingMailboxType, type MailboxTypeReads } from '../../../src/sync/mailboxTypes';
import type { MailboxTypeRead } from '../../../src/sync/ports';
import { user } from './builders';

describe('mailbox types', () => {
  it("maps Graph's userPurpose to the contract: linked is a user's mailbox, others and new values are unknown", () => {
    expect(['user', 'linked', 'shared', 'room', 'equipment', 'others', 'unknownFutureValue', null].map(mailboxTypeOfPurpose)).toEqual([
      'user', 'user', 'shared', 'room', 'equipment', 'unknown', 'unknown', 'unknown',
    ]);
  });

  it('asks for types never read, or for every placed user after a full round', () => {
    const placed = [user({ id: 'known', mailboxType: 'room' }), user({ id: 'new' })];
    expect(usersNeedingMailboxType(placed, false).map((u) => u.id)).toEqual(['new']);
    expect(usersNeedingMailboxType(placed, true).map((u) => u.id)).toEqual(['known', 'new']);
  });

  function reads(answer: (ids: readonly string[]) => MailboxTypeRead) {
    const asked: string[][] = [];
    const stored: [string, string][][] = [];
    const context: MailboxTypeReads = {
      reader: { readMailboxTypes: (ids) => { asked.push([...ids]); return Promise.resolve(answer(ids)); } },
      mirror: { putMailboxTypes: (_source, types) => { stored.push([...types]); return Promise.resolve(); } },
      source: 'Default', refreshAll: false, logger: silentLogger, denied: false, asked: 0,
    };
    return { context, asked, stored };
  }

  it('stores and sets only types that changed', async () => {
    const { context, stored } = reads(() => ({ types: new Map([['a', 'shared'], ['b', 'room']]), denied: false, failed: 0 }));
    context.refreshAll = true;
    const users = [user({ id: 'a', mailboxType: 'shared' }), user({ id: 'b', mailboxType: 'user' })];
    await fillMailboxTypes(users, context);
    expect(stored).toEqual([[['b', 'room']]]);
    expect(users.map((u) => u.mailboxType)).toEqual(['shared', 'room']);
  });

  it('after a refusal stores unknown for types never read, and asks nothing more in the same plan', async () => {
    const { context, asked, stored } = reads(() => ({ types: new Map(), denied: true, failed: 0 }));
    await fillMailboxTypes([user({ id: 'a' }), user({ id: 'b', mailboxType: 'room' })], context);
    await fillMailboxTypes([user({ id: 'c' })], context);
    expect(asked).toEqual([['a']]);
    expect(stored).toEqual([[['a', 'unknown']], [['c', 'unknown']]]);
    expect(context.denied).toBe(true);
  });

  it('leaves a user whose read failed unread, to be asked again', async () => {
    const { context, stored } = reads(() => ({ types: new Map(), denied: false, failed: 1 }));
    const failed = user({ id: 'a' });
    await fillMailboxTypes([failed], context);
    expect(stored).toEqual([]);
    expect(failed.mailboxType).toBeNull();
  });
});
