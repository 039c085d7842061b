import { describe, expect, it } from 'vitest';
import { formatConnectorStatus, type ConnectorStatus } from '../../../src/sync/status';

const round = { lastRoundCompletedAt: null, lastFullRoundCompletedAt: null, unfinished: null };

function statusWith(credential: ConnectorStatus['sources'][number]['credential']): ConnectorStatus {
  return { sources: [{ source: 'Default', users: round, groups: round, conflicts: 0, credential }], destinations: [], warnings: [] };
}

describe('status: the source credential', () => {
  it('shows an expiring certificate as a warning, with its date', () => {
    const text = formatConnectorStatus(statusWith({
      kind: 'certificate', level: 'urgent', expiresAt: '2027-01-05T00:00:00.000Z', daysLeft: 3,
      detail: 'the certificate expires on 2027-01-05T00:00:00.000Z (3 day(s) left): upload a new certificate',
    }));
    expect(text).toContain('  credential: WARNING: the certificate expires on 2027-01-05T00:00:00.000Z (3 day(s) left)');
  });

  it('states a valid certificate, or what it cannot know, without a warning', () => {
    expect(formatConnectorStatus(statusWith({ kind: 'certificate', level: 'ok', expiresAt: '2036-01-01T00:00:00.000Z', daysLeft: 3000, detail: 'the certificate is valid until 2036-01-01T00:00:00.000Z' })))
      .toContain('  credential: the certificate is valid until 2036-01-01T00:00:00.000Z');
    expect(formatConnectorStatus(statusWith({ kind: 'clientSecret', level: 'unknown', expiresAt: null, daysLeft: null, detail: 'not read here' })))
      .toContain('  credential: not read here');
  });
});
