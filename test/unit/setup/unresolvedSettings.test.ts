import { describe, expect, it } from 'vitest';
import { assertNoUnresolvedKeyVaultReferences, UnresolvedKeyVaultReferenceError } from '../../../src/setup/unresolvedSettings';

describe('unresolved Key Vault references', () => {
  it('stops start-up naming every setting that still holds a reference, never its text', () => {
    const reference = '@Microsoft.KeyVault(SecretUri=https://kv-contoso.vault.azure.net/secrets/s365-token/)';
    const env = { S365_TOKEN_TENANT1: reference, AzureWebJobsStorage__accountName: 'stcontoso', ENTRA_SECRET: ` ${reference}` };
    let caught: unknown;
    try {
      assertNoUnresolvedKeyVaultReferences(env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnresolvedKeyVaultReferenceError);
    const error = caught as UnresolvedKeyVaultReferenceError;
    expect(error.settings).toEqual(['ENTRA_SECRET', 'S365_TOKEN_TENANT1']);
    expect(error.message).toContain('ENTRA_SECRET, S365_TOKEN_TENANT1');
    expect(error.message).not.toContain('vault.azure.net');
  });

  it('lets resolved settings through', () => {
    expect(() => assertNoUnresolvedKeyVaultReferences({ S365_TOKEN_TENANT1: 'idscl_resolvedvalue', OTHER: undefined })).not.toThrow();
  });
});
