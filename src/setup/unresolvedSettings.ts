import { KEY_VAULT_REFERENCE_PREFIX } from '../config/schema';

/**
 * In Azure, an app setting written as `@Microsoft.KeyVault(...)` is replaced by the secret before
 * the app starts; when the platform cannot resolve it (identity without access, wrong URI) the
 * app sees the literal text. Starting anyway would send that text to Graph or Signature 365 as a
 * credential, so start-up stops here, naming the setting (never its value).
 */
export class UnresolvedKeyVaultReferenceError extends Error {
  override readonly name = 'UnresolvedKeyVaultReferenceError';
  constructor(readonly settings: string[]) {
    super(
      `App setting${settings.length > 1 ? 's' : ''} ${settings.join(', ')} still hold${settings.length > 1 ? '' : 's'} an unresolved Key Vault reference. ` +
        "Grant the function app's identity the 'Key Vault Secrets User' role on the vault, check the secret URI, " +
        'and set keyVaultReferenceIdentity to the user-assigned identity (docs/deploy.md).',
    );
  }
}

export function assertNoUnresolvedKeyVaultReferences(env: NodeJS.ProcessEnv): void {
  const unresolved = Object.entries(env)
    .filter(([, value]) => value?.trimStart().startsWith(KEY_VAULT_REFERENCE_PREFIX) === true)
    .map(([name]) => name)
    .sort();
  if (unresolved.length > 0) throw new UnresolvedKeyVaultReferenceError(unresolved);
}
