import { describe, expect, it } from 'vitest';
import {
  MAX_LIFETIME_MINUTES, REQUESTED_LIFETIME_MINUTES, SUBSCRIBED_CHANGE_TYPES, SUBSCRIPTION_PERMISSION, expiryFrom, renewalDue,
  retryAfterFailure, retryAfterMissingPermission,
} from '../../../src/realtime/subscriptionPolicy';

const NOW = new Date('2025-03-10T12:00:00.000Z');
const MINUTE = 60_000;
const at = (minutes: number) => new Date(NOW.getTime() + minutes * MINUTE);

describe('subscription lifetime', () => {
  it('asks for an hour under Graph maximum of 41,760 minutes', () => {
    expect(MAX_LIFETIME_MINUTES).toBe(41_760);
    expect(REQUESTED_LIFETIME_MINUTES).toBe(41_700);
    expect(expiryFrom(NOW).toISOString()).toBe(at(41_700).toISOString());
  });

  it('subscribes to updated and deleted (Graph has no created for directory objects)', () => {
    expect(SUBSCRIBED_CHANGE_TYPES).toBe('updated,deleted');
  });
});

describe('renewalDue', () => {
  const half = REQUESTED_LIFETIME_MINUTES / 2;

  it('is not due while at least half of the lifetime remains', () => {
    expect(renewalDue(expiryFrom(NOW).toISOString(), NOW)).toBe(false);
    expect(renewalDue(at(half).toISOString(), NOW)).toBe(false);
    expect(renewalDue(at(half + 1).toISOString(), NOW)).toBe(false);
  });

  it('is due when less than half remains, when expired and when the date cannot be read', () => {
    expect(renewalDue(new Date(at(half).getTime() - 1).toISOString(), NOW)).toBe(true);
    expect(renewalDue(at(60).toISOString(), NOW)).toBe(true);
    expect(renewalDue(at(-1).toISOString(), NOW)).toBe(true);
    expect(renewalDue('', NOW)).toBe(true);
    expect(renewalDue('not a date', NOW)).toBe(true);
  });

  it('becomes due about 14.5 days after creation', () => {
    const expiresAt = expiryFrom(NOW).toISOString();
    expect(renewalDue(expiresAt, at(14 * 24 * 60))).toBe(false);
    expect(renewalDue(expiresAt, at(14.5 * 24 * 60))).toBe(true);
  });
});

describe('retryAfterFailure', () => {
  it('waits 5 minutes, doubling per failure, at most 6 hours', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((failures) => (retryAfterFailure(failures, NOW).getTime() - NOW.getTime()) / MINUTE);
    expect(waits).toEqual([5, 10, 20, 40, 80, 160, 320, 360, 360]);
  });

  it('treats zero or negative failures as the first', () => {
    expect(retryAfterFailure(0, NOW).toISOString()).toBe(at(5).toISOString());
    expect(retryAfterFailure(-3, NOW).toISOString()).toBe(at(5).toISOString());
  });

  it('stays at 6 hours for huge counts (no overflow to Infinity or NaN)', () => {
    expect(retryAfterFailure(10_000, NOW).toISOString()).toBe(at(360).toISOString());
  });
});

describe('retryAfterMissingPermission', () => {
  it('asks again 6 hours later', () => {
    expect(retryAfterMissingPermission(NOW).toISOString()).toBe(at(6 * 60).toISOString());
  });

  it('names the application permission each subscription needs', () => {
    expect(SUBSCRIPTION_PERMISSION).toEqual({ users: 'User.Read.All', groups: 'Group.Read.All' });
  });
});
