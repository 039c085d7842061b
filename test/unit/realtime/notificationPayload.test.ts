import { describe, expect, it } from 'vitest';
import { parseNotifications } from '../../../src/realtime/notificationPayload';

const change = {
  subscriptionId: '7f105c7d-2dc5-4530-97cd-4e7ae6534c07',
  subscriptionExpirationDateTime: '2025-03-20T18:23:45.9356913Z',
  changeType: 'updated',
  resource: 'Users/1a2b3c4d-0000-4000-8000-000000000001',
  resourceData: { '@odata.type': '#Microsoft.Graph.User', '@odata.id': 'Users/1a2b', id: '1a2b', organizationId: 'tenant' },
  clientState: 'secret-client-state-value',
  tenantId: '11111111-2222-4333-8444-555555555555',
};

const lifecycle = {
  subscriptionId: '7f105c7d-2dc5-4530-97cd-4e7ae6534c07',
  subscriptionExpirationDateTime: '2025-03-20T18:23:45.9356913Z',
  tenantId: '11111111-2222-4333-8444-555555555555',
  clientState: 'secret-client-state-value',
  lifecycleEvent: 'reauthorizationRequired',
  resource: 'users',
  organizationId: '11111111-2222-4333-8444-555555555555',
};

function parse(body: unknown) {
  return parseNotifications(typeof body === 'string' ? body : JSON.stringify(body));
}

function errorOf(body: unknown): string {
  const result = parse(body);
  if (result.ok) throw new Error('expected a parse error');
  return result.error;
}

describe('parseNotifications', () => {
  it('reads change notifications: subscription id, clientState and tenant only', () => {
    const result = parse({ value: [change] });
    expect(result).toEqual({
      ok: true,
      batch: {
        changes: [{ subscriptionId: change.subscriptionId, clientState: change.clientState, tenantId: change.tenantId }],
        lifecycle: [],
      },
    });
  });

  it('tells lifecycle events from changes, in one batch', () => {
    const result = parse({ value: [change, lifecycle, { ...lifecycle, lifecycleEvent: 'missed' }, { ...lifecycle, lifecycleEvent: 'subscriptionRemoved' }] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.batch.changes).toHaveLength(1);
    expect(result.batch.lifecycle.map((item) => item.event)).toEqual(['reauthorizationRequired', 'missed', 'subscriptionRemoved']);
    expect(result.batch.lifecycle[0]).toEqual({
      subscriptionId: lifecycle.subscriptionId, clientState: lifecycle.clientState, tenantId: lifecycle.tenantId, event: 'reauthorizationRequired',
    });
  });

  it('maps a lifecycle event this version does not know to unknown', () => {
    const result = parse({ value: [{ ...lifecycle, lifecycleEvent: 'somethingNewFromGraph' }] });
    expect(result.ok && result.batch.lifecycle[0]?.event).toBe('unknown');
  });

  it('allows fields it does not know, on the items and on the body', () => {
    const result = parse({ value: [{ ...change, newGraphProperty: { nested: [1, 2] }, encryptedContent: null }], validationTokens: ['a.b.c'], extra: 1 });
    expect(result.ok).toBe(true);
  });

  it('reads a missing or null clientState and tenant as undefined (the webhook then refuses it)', () => {
    const result = parse({ value: [{ subscriptionId: 'abc' }, { subscriptionId: 'def', clientState: null }] });
    expect(result).toEqual({
      ok: true,
      batch: {
        changes: [
          { subscriptionId: 'abc', clientState: undefined, tenantId: undefined },
          { subscriptionId: 'def', clientState: undefined, tenantId: undefined },
        ],
        lifecycle: [],
      },
    });
  });

  it('refuses a body that is not JSON', () => {
    expect(errorOf('{"value": [')).toMatch(/^body: not JSON/);
    expect(errorOf('')).toMatch(/^body: /);
  });

  it('refuses a body without a value array, naming the field', () => {
    expect(errorOf({})).toMatch(/^value: /);
    expect(errorOf({ value: 'x' })).toMatch(/^value: /);
    expect(errorOf([])).toMatch(/^body: /);
    expect(errorOf(null)).toMatch(/^body: /);
  });

  it('refuses an empty value array', () => {
    expect(errorOf({ value: [] })).toMatch(/^value: /);
  });

  it('names the item and field that are wrong', () => {
    expect(errorOf({ value: [change, { ...change, subscriptionId: undefined }] })).toMatch(/^value\.1\.subscriptionId: /);
    expect(errorOf({ value: [{ ...change, subscriptionId: '' }] })).toMatch(/^value\.0\.subscriptionId: /);
    expect(errorOf({ value: [{ ...change, subscriptionId: 'x'.repeat(129) }] })).toMatch(/^value\.0\.subscriptionId: /);
    expect(errorOf({ value: [{ ...change, clientState: 12 }] })).toMatch(/^value\.0\.clientState: /);
    expect(errorOf({ value: [{ ...change, clientState: 'x'.repeat(1025) }] })).toMatch(/^value\.0\.clientState: /);
    expect(errorOf({ value: [{ ...change, tenantId: 5 }] })).toMatch(/^value\.0\.tenantId: /);
    expect(errorOf({ value: [{ ...lifecycle, lifecycleEvent: '' }] })).toMatch(/^value\.0\.lifecycleEvent: /);
    expect(errorOf({ value: ['not an object'] })).toMatch(/^value\.0: /);
  });

  it('says what it expected', () => {
    expect(errorOf({ value: [{}] })).toContain('expected {"value": [{"subscriptionId"');
  });
});
