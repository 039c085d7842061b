import { describe, expect, it } from 'vitest';
import { STORAGE_KEY_PATTERN, findStorageKeyCollisions, storageKeyOf } from '../../../src/config/storageKey';
import { assertKeyPart, assertSourceName } from '../../../src/store/entityCodec';
import { uploadRequestedMessage } from '../../../src/sync/messages';
import { config, destination, issuesOf, mapping } from './builders';

describe('storage keys of source and destination names', () => {
  it('keeps a name of letters, digits, "-" and "_" as its own key, so existing deployments keep their tables', () => {
    for (const name of ['Default', 'Tenant1', 'contoso-emea', 'A_B']) expect(storageKeyOf(name)).toBe(name);
  });

  it('derives a fixed key for a name as the vendor writes it: the same for the same name, release after release', () => {
    // Written out: a change of the rule would move every such deployment to new, empty tables.
    expect(storageKeyOf('Contoso Ltd')).toBe('Contoso_Ltd.ecd4de449791');
    expect(storageKeyOf('fabrikam.com')).toBe('fabrikam_com.137d857c9163');
    expect(storageKeyOf('Müller GmbH')).toBe('M_ller_GmbH.a71002a26272');
  });

  it('gives keys that every store, lock and queue message accepts, whatever the name holds', () => {
    for (const name of ['Contoso Ltd', 'a|b~c/d#e?f', 'Ünïcödé 東京', 'x'.repeat(64), '100% Sales & Marketing']) {
      const key = storageKeyOf(name);
      expect(key).toMatch(STORAGE_KEY_PATTERN);
      expect(() => assertKeyPart(key, 'destination name')).not.toThrow();
      expect(() => assertSourceName(key)).not.toThrow();
      const message = { v: 1, type: 'upload', runId: 'r', source: key, destination: key, kind: 'users', ids: ['11111111-2222-4333-8444-555555555555'] };
      expect(uploadRequestedMessage.safeParse(message).success, name).toBe(true);
    }
  });

  it('never gives an escaped name the key of a plain name', () => {
    // "Contoso_Ltd" is plain; "Contoso Ltd" has the same slug but a "." and a hash after it.
    expect(storageKeyOf('Contoso Ltd')).not.toBe(storageKeyOf('Contoso_Ltd'));
    expect(storageKeyOf('Contoso_Ltd')).toBe('Contoso_Ltd');
  });

  it('finds two names with one key, in the order written', () => {
    const sameKey = (name: string) => name.toLowerCase();
    expect(findStorageKeyCollisions(['Alpha', 'Beta', 'alpha'], sameKey)).toEqual([{ key: 'alpha', names: ['Alpha', 'alpha'] }]);
    expect(findStorageKeyCollisions(['Alpha', 'Beta', 'Contoso Ltd', 'Contoso_Ltd'])).toEqual([]);
  });

  it('refuses two entries that are the same name in two Unicode forms, naming both', () => {
    const composed = 'M\u00fcller GmbH';
    const decomposed = 'Mu\u0308ller GmbH';
    const raw = config({
      Signature365: { [composed]: destination(), [decomposed]: destination() },
      Mappings: [mapping({ To: `Signature365:${composed}` })],
    });
    expect(issuesOf(raw)).toEqual([
      {
        path: `Signature365[${JSON.stringify(decomposed)}]`,
        message:
          `${JSON.stringify(decomposed)} and ${JSON.stringify(composed)} would be stored under the same key (M_ller_GmbH.a71002a26272): ` +
          'they are the same text in two Unicode forms, or differ too little; rename one of them',
      },
    ]);
  });
});
