import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { CLOUDS } from './clouds';
import { parseUserFilter } from './userFilter';
import { ConfigError, describeType, formatPath, genericIssueMessage, issuesFromZod, type ConfigIssue } from './errors';
import {
  APP_SETTING_REFERENCE,
  DESTINATION_PREFIX,
  KEY_VAULT_REFERENCE_PREFIX,
  MINIMUM_CONFIG_HINT,
  SOURCE_PREFIX,
  TOKEN_PREFIX,
  configFileSchema,
  optionsSchema,
  type DestinationEntry,
  type EntraSourceEntry,
  type MappingEntry,
  type OptionsEntry,
} from './schema';
import type {
  ConnectorConfig,
  ConnectorOptions,
  DeleteThreshold,
  DestinationConfig,
  EntraSourceConfig,
  MappingConfig,
  SourceAuth,
} from './types';
import { storageKeyOf } from './storageKey';
import { configWarnings } from './warnings';

export interface ResolveOptions {
  /** Where relative certificate paths start: the config file's folder when loaded from a file; default the working directory. */
  baseDir?: string;
}

/** A resolved configuration and what is worth a warning in it (never an error: the config works as it is). */
export interface ResolvedConfigReport {
  config: ConnectorConfig;
  warnings: ConfigIssue[];
}

/**
 * Turns a parsed config.json into the connector's configuration: validates it, reads
 * "@AppSetting(NAME)" secrets from `env`, reads certificate files, applies defaults and lower-cases
 * GUIDs. Throws one ConfigError listing every problem found.
 */
export function resolveConfig(raw: unknown, env: NodeJS.ProcessEnv, options: ResolveOptions = {}): ConnectorConfig {
  return resolveConfigReport(raw, env, options).config;
}

/** resolveConfig, with the warnings (plain-text secrets, tokens without idscl_, overlapping mappings). */
export function resolveConfigReport(raw: unknown, env: NodeJS.ProcessEnv, options: ResolveOptions = {}): ResolvedConfigReport {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([{ path: '', message: `the configuration must be a JSON object, found ${describeType(raw)}; ${MINIMUM_CONFIG_HINT}` }]);
  }
  if (Object.keys(raw).every((key) => key === '$schema')) {
    throw new ConfigError([{ path: '', message: `the configuration is empty; ${MINIMUM_CONFIG_HINT}` }]);
  }
  const parsed = configFileSchema.safeParse(raw, { error: genericIssueMessage });
  if (!parsed.success) throw new ConfigError(issuesFromZod(parsed.error.issues));

  const resolver = new Resolver(env, options.baseDir ?? process.cwd());
  const config: ConnectorConfig = {
    sources: Object.entries(parsed.data.EntraId).map(([name, entry]) => resolver.source(name, entry)),
    destinations: Object.entries(parsed.data.Signature365).map(([name, entry]) => resolver.destination(name, entry)),
    mappings: parsed.data.Mappings.map((entry, index) => resolveMapping(entry, index)),
    options: resolveOptions(parsed.data.Options ?? optionsSchema.parse({})),
  };
  if (resolver.issues.length > 0) throw new ConfigError(resolver.issues);
  return { config, warnings: [...resolver.warnings, ...configWarnings(config)] };
}

/** `EntraId.Default.ClientSecret` → `ENTRA_ID_DEFAULT_CLIENT_SECRET`: a setting name to suggest. */
function suggestedSettingName(path: string): string {
  const words = path.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return words.toUpperCase() || 'CONNECTOR_SECRET';
}

function plainTextSecretWarning(path: string): ConfigIssue {
  const setting = suggestedSettingName(path);
  return {
    path,
    message:
      `is written in plain text in the config, where anyone who can read the file or blob reads it; move it to an app setting ` +
      `(e.g. ${setting}) and write "@AppSetting(${setting})" here. In Azure the app setting can hold a Key Vault reference, ` +
      '@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/), and the secret then lives in the vault',
  };
}

const PRIVATE_KEY_BLOCK = /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----/;
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----/;

/** The parts that read the environment and the disk; it gathers issues instead of stopping at the first. */
class Resolver {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly baseDir: string,
  ) {}

  source(name: string, entry: EntraSourceEntry): EntraSourceConfig {
    const path = formatPath(['EntraId', name]);
    const explicit = entry.AuthorityHost !== undefined && entry.GraphEndpoint !== undefined;
    const key = storageKeyOf(name);
    return {
      name: key,
      ...(key === name ? {} : { displayName: name }),
      tenantId: entry.TenantId.toLowerCase(),
      auth: this.auth(path, entry),
      authorityHost: explicit ? new URL(entry.AuthorityHost ?? '').origin : CLOUDS[entry.Cloud].authorityHost,
      graphEndpoint: explicit ? new URL(entry.GraphEndpoint ?? '').origin : CLOUDS[entry.Cloud].graphEndpoint,
      ...(entry.ExtensionProperties.length > 0 ? { extensionProperties: [...entry.ExtensionProperties] } : {}),
    };
  }

  destination(name: string, entry: DestinationEntry): DestinationConfig {
    const field = entry.Token === undefined ? 'ClientId' : 'Token';
    const path = formatPath(['Signature365', name, field]);
    const written = entry.Token ?? entry.ClientId ?? '';
    const token = this.secret(written, path, (value, setting) => {
      if (value.startsWith(TOKEN_PREFIX)) return undefined;
      if (field === 'ClientId') {
        this.warnings.push(clientIdTokenWarning(path, `the value of app setting ${setting}`));
        return undefined;
      }
      return `the value of app setting ${setting} does not start with "${TOKEN_PREFIX}"; copy the token from Signature 365 (Integrations > Entra ID connector)`;
    });
    if (field === 'ClientId' && !written.startsWith('@') && !written.startsWith(TOKEN_PREFIX)) {
      this.warnings.push(clientIdTokenWarning(path, 'the value'));
    }
    const key = storageKeyOf(name);
    const destination: DestinationConfig = {
      name: key,
      ...(key === name ? {} : { displayName: name }),
      token: token ?? '',
      endpoint: entry.Endpoint.replace(/\/+$/, ''),
    };
    if (entry.TenantId !== undefined) destination.tenantId = entry.TenantId.toLowerCase();
    return destination;
  }

  private auth(path: string, entry: EntraSourceEntry): SourceAuth {
    const clientId = entry.ClientId?.toLowerCase() ?? '';
    if (entry.ClientSecret !== undefined) {
      return { kind: 'clientSecret', clientId, clientSecret: this.secret(entry.ClientSecret, `${path}.ClientSecret`) ?? '' };
    }
    if (entry.Certificate !== undefined) {
      const certificate = entry.Certificate;
      const password = certificate.Password === undefined ? undefined : this.secret(certificate.Password, `${path}.Certificate.Password`);
      const pem = this.certificatePem(`${path}.Certificate`, certificate.Path, certificate.Pem, password);
      const auth: SourceAuth = { kind: 'certificate', clientId, certificatePem: pem ?? '', sendCertificateChain: certificate.SendCertificateChain };
      if (password !== undefined) auth.certificatePassword = password;
      return auth;
    }
    const identity = entry.ManagedIdentity;
    const identityClientId = typeof identity === 'object' ? identity.ClientId.toLowerCase() : entry.ClientId?.toLowerCase();
    if (identityClientId === undefined) return { kind: 'managedIdentity' };
    // TenantId + ClientId and nothing else is how the vendor's container deployment writes a managed identity.
    return identity === undefined || identity === false
      ? { kind: 'managedIdentity', clientId: identityClientId, inferred: true }
      : { kind: 'managedIdentity', clientId: identityClientId };
  }

  /**
   * A secret's value: literal, or read from the app setting "@AppSetting(NAME)" names. `check` may
   * reject a value read from a setting (literal values were checked by the schema).
   */
  private secret(value: string, path: string, check?: (value: string, setting: string) => string | undefined): string | undefined {
    const reference = APP_SETTING_REFERENCE.exec(value);
    const setting = reference?.[1];
    if (setting === undefined) {
      this.warnings.push(plainTextSecretWarning(path));
      return value;
    }
    const read = this.env[setting]?.trim();
    if (read === undefined || read === '') {
      this.issues.push({ path, message: `app setting ${setting} is not set; add it to the app settings (or the environment) or write the value here` });
      return undefined;
    }
    if (read.startsWith(KEY_VAULT_REFERENCE_PREFIX)) {
      this.issues.push({
        path,
        message: `app setting ${setting} holds an unresolved Key Vault reference; grant the app's identity 'Key Vault Secrets User' on the vault`,
      });
      return undefined;
    }
    const problem = check?.(read, setting);
    if (problem !== undefined) {
      this.issues.push({ path, message: problem });
      return undefined;
    }
    return read;
  }

  private certificatePem(path: string, file: string | undefined, pemValue: string | undefined, password: string | undefined): string | undefined {
    let pem: string | undefined;
    let where: string;
    if (file !== undefined) {
      where = `${path}.Path`;
      const absolute = resolvePath(this.baseDir, file);
      try {
        pem = readFileSync(absolute, 'utf8');
      } catch (error) {
        const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
        this.issues.push({ path: where, message: `cannot read ${JSON.stringify(absolute)} (${code}); relative paths start at ${JSON.stringify(this.baseDir)}` });
        return undefined;
      }
    } else {
      where = `${path}.Pem`;
      pem = pemValue === undefined ? undefined : this.secret(pemValue, where);
      if (pem === undefined) return undefined;
    }
    const missing = [CERTIFICATE_BLOCK.test(pem) ? undefined : 'certificate', PRIVATE_KEY_BLOCK.test(pem) ? undefined : 'private key'].filter(
      (part) => part !== undefined,
    );
    if (missing.length > 0) {
      this.issues.push({
        path: where,
        message: `holds no PEM ${missing.join(' and no ')}; give the certificate and its private key in one PEM (from a .pfx: openssl pkcs12 -in cert.pfx -out cert.pem -nodes)`,
      });
      return undefined;
    }
    try {
      createPrivateKey(password === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase: password });
    } catch {
      this.issues.push({
        path: where,
        message:
          password === undefined
            ? 'the private key cannot be read; if it is encrypted, set Certificate.Password'
            : 'the private key cannot be read with Certificate.Password; check the password',
      });
      return undefined;
    }
    return pem;
  }
}

function clientIdTokenWarning(path: string, what: string): ConfigIssue {
  return {
    path,
    message:
      `${what} does not start with "${TOKEN_PREFIX}", as the tokens Signature 365 generates do; it is used as written. ` +
      'If uploads are refused (401), copy the token again from Signature 365 (Integrations > Entra ID connector)',
  };
}

function lowerUnique(values: readonly string[]): string[] {
  return [...new Set(values.map((value) => value.toLowerCase()))];
}

function resolveMapping(entry: MappingEntry, index: number): MappingConfig {
  return {
    index,
    source: storageKeyOf(entry.From.slice(SOURCE_PREFIX.length)),
    destination: storageKeyOf(entry.To.slice(DESTINATION_PREFIX.length)),
    limitToGroups: lowerUnique(entry.LimitToGroups),
    // UPNs are case-insensitive in Entra; lower case lets scope compare them as plain strings.
    include: lowerUnique(entry.Include),
    exclude: lowerUnique(entry.Exclude),
    // The schema has parsed it once already; a text that parsed there parses here.
    filter: entry.Filter === undefined ? null : { text: entry.Filter, expression: parseUserFilter(entry.Filter) },
  };
}

function resolveOptions(entry: OptionsEntry): ConnectorOptions {
  return {
    deltaIntervalMinutes: entry.DeltaIntervalMinutes,
    fullReconcileHours: entry.FullReconcileHours,
    includeDisabledUsers: entry.IncludeDisabledUsers,
    includeGuests: entry.IncludeGuests,
    requireMail: entry.RequireMail,
    licensedUsersOnly: entry.LicensedUsersOnly,
    onConflict: entry.OnConflict,
    deleteAfterDays: entry.DeleteAfterDays,
    deleteThreshold: resolveDeleteThreshold(entry.DeleteThreshold),
    deleteThresholdMax: entry.DeleteThresholdMax,
    auditRetentionDays: entry.AuditRetentionDays,
  };
}

/** The schema has checked the form: a whole number, "off" or "<0-100>%". */
function resolveDeleteThreshold(value: number | string): DeleteThreshold {
  if (typeof value === 'number') return { kind: 'count', count: value };
  if (value === 'off') return { kind: 'off' };
  return { kind: 'percent', percent: Number(value.slice(0, -1)) };
}
