import { z } from 'zod';
import { CLOUD_NAMES, DEFAULT_CLOUD } from './clouds';
import { describeType, quoteValue } from './errors';
import { findStorageKeyCollisions, MAX_NAME_LENGTH, nameProblem, PLAIN_NAME } from './storageKey';
import { FilterSyntaxError, parseUserFilter } from './userFilter';

/**
 * The shape of config.json, in the vendor's spelling (EntraId / Signature365 / Mappings). Every
 * object is strict: a misspelt key is an error that names the allowed keys, not a silently ignored
 * setting. Rules across fields (one auth method, mappings naming defined entries) are refinements
 * that run even when other fields are wrong, so one pass reports every problem.
 *
 * config.schema.json is generated from this file (scripts/write-config-schema.ts); a test keeps
 * the two equal.
 */

/**
 * Names under EntraId and Signature365 that are their own storage key; any other name (the vendor's
 * "Contoso Ltd") is stored under a key derived from it (src/config/storageKey.ts).
 */
export const NAME_PATTERN = PLAIN_NAME;
/** `@AppSetting(NAME)`: the value is read from that app setting (environment variable) at resolve time. */
export const APP_SETTING_REFERENCE = /^@AppSetting\(([A-Za-z_][A-Za-z0-9_.-]*)\)$/;
export const KEY_VAULT_REFERENCE_PREFIX = '@Microsoft.KeyVault(';
export const TOKEN_PREFIX = 'idscl_';
export const DEFAULT_SIGNATURE365_ENDPOINT = 'https://app.signature365.com';
export const SOURCE_PREFIX = 'EntraId:';
export const DESTINATION_PREFIX = 'Signature365:';
/**
 * A directory (schema) extension property as Graph names it on a user: `extension_`, the owning
 * application's appId in lower-case hex without dashes, `_`, the property name. The mirror keeps
 * each as a column of its own, so the whole name stays within 200 characters.
 */
export const DIRECTORY_EXTENSION_NAME = /^extension_[0-9a-f]{32}_[A-Za-z0-9_]+$/;
const DIRECTORY_EXTENSION_EXAMPLE = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_costCenter';

const EXAMPLE_GUID = '622b1005-624a-457b-a148-566d50f3f1ff';
const AUTH_METHODS = ['ClientSecret', 'Certificate', 'ManagedIdentity'] as const;
const ALWAYS = { when: () => true };

const HINTS = {
  tenantId: "the Directory (tenant) ID from the app registration's Overview page",
  clientId: "the Application (client) ID from the app registration's Overview page",
  managedIdentityClientId: 'the Client ID of the user-assigned managed identity',
  destinationTenantId: 'the Signature 365 tenant ID (Signature 365 support can provide it)',
  groupId: "the group's Object ID (Entra admin center > Groups > the group), not its name",
} as const;

const EXAMPLES = {
  source: '"EntraId": { "Default": { "TenantId": "<GUID>", "ClientId": "<GUID>", "ClientSecret": "@AppSetting(ENTRA_CLIENT_SECRET)" } }',
  destination: '"Signature365": { "Tenant1": { "Token": "@AppSetting(S365_TOKEN_TENANT1)" } }',
  mapping: '"Mappings": [ { "From": "EntraId:Default", "To": "Signature365:Tenant1", "LimitToGroups": [] } ]',
} as const;

/** What a config must hold at least; used when the config is empty. */
export const MINIMUM_CONFIG_HINT =
  'the minimum is one source under EntraId, one destination under Signature365 and one entry in Mappings, e.g. ' +
  `{ ${EXAMPLES.source}, ${EXAMPLES.destination}, ${EXAMPLES.mapping} } (see config.sample.json)`;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The allowed word a typo was probably meant to be: same letters in another case, or two edits away. */
export function closestMatch(word: string, allowed: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  return (
    allowed.find((candidate) => candidate.toLowerCase() === lower) ??
    allowed.find((candidate) => editDistance(candidate.toLowerCase(), lower) <= 2)
  );
}

function unknownKeysMessage(keys: readonly string[], allowed: readonly string[]): string {
  const named = keys
    .map((key) => {
      const guess = closestMatch(key, allowed);
      return guess === undefined ? JSON.stringify(key) : `${JSON.stringify(key)} (did you mean "${guess}"?)`;
    })
    .join(', ');
  return `unknown key${keys.length === 1 ? '' : 's'} ${named}; allowed keys: ${allowed.join(', ')}`;
}

function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknownKeysMessage(issue.keys, allowed) : undefined),
  });
}

function guid(hint: string) {
  return z.guid({
    error: (issue) => {
      if (issue.input === undefined) return `required; use ${hint}`;
      if (typeof issue.input !== 'string') return `expected a GUID, found ${describeType(issue.input)}; use ${hint}`;
      return `${quoteValue(issue.input)} is not a GUID; use ${hint}, e.g. ${EXAMPLE_GUID}`;
    },
  });
}

/** A secret: written literally or as "@AppSetting(NAME)". Messages about it never repeat the value. */
function secret(description: string) {
  return z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      if (value.startsWith(KEY_VAULT_REFERENCE_PREFIX)) {
        ctx.addIssue({
          code: 'custom',
          message:
            'a Key Vault reference is resolved only in an app setting; put it in an app setting (e.g. MY_SECRET) and write "@AppSetting(MY_SECRET)" here',
        });
      } else if (value.startsWith('@AppSetting') && !APP_SETTING_REFERENCE.test(value)) {
        ctx.addIssue({ code: 'custom', message: 'write an app setting reference as "@AppSetting(NAME)" (letters, digits, "_", "." or "-")' });
      }
    })
    .meta({ description: `${description} Write it literally or as "@AppSetting(NAME)" to read it from that app setting.` });
}

function token(description: string) {
  return secret(description).superRefine((value, ctx) => {
    // "@..." forms are checked by secret() and, after the app setting is read, by resolve.ts.
    if (!value.startsWith(TOKEN_PREFIX) && !value.startsWith('@')) {
      ctx.addIssue({
        code: 'custom',
        message: `does not start with "${TOKEN_PREFIX}"; copy the token from Signature 365 (Integrations > Entra ID connector), or write "@AppSetting(NAME)"`,
      });
    }
  });
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

function url(options: { example: string; rootOnly: boolean; allowLoopbackHttp: boolean; description: string }) {
  return z
    .url({ error: (issue) => (typeof issue.input === 'string' ? `${quoteValue(issue.input)} is not a URL; e.g. ${options.example}` : undefined) })
    .superRefine((value, ctx) => {
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        return; // z.url() has reported it
      }
      const loopbackHttp = options.allowLoopbackHttp && parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname);
      if (parsed.protocol !== 'https:' && !loopbackHttp) {
        const exception = options.allowLoopbackHttp ? ' (http is accepted only for 127.0.0.1 and localhost)' : '';
        ctx.addIssue({ code: 'custom', message: `${quoteValue(value)} must use https${exception}` });
      }
      if (options.rootOnly && (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '')) {
        ctx.addIssue({ code: 'custom', message: `${quoteValue(value)} must be a root URL without a path, e.g. ${options.example}` });
      }
    })
    .meta({ description: options.description });
}

const certificateSchema = strictObject({
  Path: z.string().min(1).optional().meta({ description: 'PEM file holding the certificate and its private key; relative to the config file.' }),
  Pem: secret('The PEM text itself (certificate and private key).').optional(),
  Password: secret('Password of an encrypted private key.').optional(),
  SendCertificateChain: z.boolean().default(false).meta({ description: 'Send the x5c header (subject name/issuer authentication).' }),
})
  .superRefine((value, ctx) => {
    if (!isRecord(value)) return; // refinements run even when the value is not an object
    if (value.Path === undefined && value.Pem === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give the certificate as Path (a PEM file) or Pem (the PEM text)' });
    } else if (value.Path !== undefined && value.Pem !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'Path and Pem are both set; keep one' });
    }
  }, ALWAYS)
  .meta({ oneOf: [{ required: ['Path'] }, { required: ['Pem'] }] });

const managedIdentitySchema = z
  .union([z.boolean(), strictObject({ ClientId: guid(HINTS.managedIdentityClientId) })], {
    error: 'expected true (system-assigned) or { "ClientId": "<GUID>" } (user-assigned)',
  })
  .meta({ description: 'true: system-assigned (or user-assigned when ClientId is set); { "ClientId": "<GUID>" }: user-assigned.' });

/** Says what is wrong with a directory extension name, and how Graph spells it. */
function extensionPropertyName() {
  return z.string().superRefine((value, ctx) => {
    if (DIRECTORY_EXTENSION_NAME.test(value) && value.length <= 200) return;
    const dashed = /^extension_([0-9a-fA-F-]{32,36})_([A-Za-z0-9_]+)$/.exec(value);
    const compact = dashed?.[1]?.replace(/-/g, '').toLowerCase();
    let message: string;
    if (value.length > 200) {
      message = `${quoteValue(value.slice(0, 60))}... is longer than 200 characters, more than the mirror keeps for one attribute name`;
    } else if (/^extensionAttribute([1-9]|1[0-5])$/.test(value)) {
      message = `${quoteValue(value)} is an on-premises extension attribute, which is always read (onPremisesExtensionAttributes); list only directory extensions here`;
    } else if (dashed !== null && compact !== undefined && /^[0-9a-f]{32}$/.test(compact)) {
      message = `${quoteValue(value)}: write the application id without dashes, in lower case: "extension_${compact}_${dashed[2] ?? ''}"`;
    } else {
      message =
        `${quoteValue(value)} is not a directory extension name; write "extension_<application id without dashes>_<name>", ` +
        `e.g. "${DIRECTORY_EXTENSION_EXAMPLE}" (\`s365-connector extensions list\` shows the names in the tenant)`;
    }
    ctx.addIssue({ code: 'custom', message });
  }).meta({ pattern: DIRECTORY_EXTENSION_NAME.source, maxLength: 200 });
}

export const entraSourceSchema = strictObject({
  TenantId: guid(HINTS.tenantId),
  ClientId: guid(HINTS.clientId)
    .optional()
    .meta({
      description:
        'Application (client) ID; required with ClientSecret or Certificate. Alone (no ClientSecret, Certificate or ManagedIdentity): ' +
        'the client id of the user-assigned managed identity to use, as the vendor\'s container deployment writes it.',
    }),
  ClientSecret: secret('Client secret of the app registration.').optional(),
  Certificate: certificateSchema.optional(),
  ManagedIdentity: managedIdentitySchema.optional(),
  Cloud: z.enum(CLOUD_NAMES).default(DEFAULT_CLOUD).meta({ description: 'Microsoft cloud; ignored when AuthorityHost and GraphEndpoint are given.' }),
  AuthorityHost: url({
    example: 'https://login.microsoftonline.com',
    rootOnly: true,
    allowLoopbackHttp: false,
    description: 'Token authority; give it with GraphEndpoint to override Cloud.',
  }).optional(),
  GraphEndpoint: url({
    example: 'https://graph.microsoft.com',
    rootOnly: true,
    allowLoopbackHttp: false,
    description: 'Graph root without version; give it with AuthorityHost to override Cloud.',
  }).optional(),
  ExtensionProperties: z
    .array(extensionPropertyName())
    .default([])
    .refine((names) => new Set(names).size === names.length, { error: 'lists a name twice; list each extension property once' })
    .meta({
      description:
        'Directory (schema) extension properties to read on users, e.g. "extension_<appId without dashes>_costCenter"; ' +
        'they reach the record under extensionAttributes. `s365-connector extensions list` shows what the tenant has.',
    }),
})
  .superRefine((value, ctx) => {
    if (!isRecord(value)) return; // refinements run even when the value is not an object
    const chosen = AUTH_METHODS.filter((method) => value[method] !== undefined && value[method] !== false);
    const [first] = chosen;
    if (first === undefined && value.ClientId === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          `no authentication method; set exactly one of ${AUTH_METHODS.join(', ')}, ` +
          'or give ClientId alone to use the user-assigned managed identity with that client id',
      });
    } else if (chosen.length > 1) {
      const named = `${chosen.slice(0, -1).join(', ')} and ${chosen.slice(-1).join('')}`;
      const verb = chosen.length === 2 ? 'are both set' : 'are all set';
      ctx.addIssue({ code: 'custom', message: `${named} ${verb}; keep exactly one of ${AUTH_METHODS.join(', ')}` });
    }
    for (const method of ['ClientSecret', 'Certificate'] as const) {
      if (value[method] !== undefined && value.ClientId === undefined) {
        ctx.addIssue({ code: 'custom', path: ['ClientId'], message: `required with ${method}; use ${HINTS.clientId}` });
      }
    }
    const identity = value.ManagedIdentity;
    if (isRecord(identity) && typeof identity.ClientId === 'string' && typeof value.ClientId === 'string' && identity.ClientId.toLowerCase() !== value.ClientId.toLowerCase()) {
      ctx.addIssue({ code: 'custom', path: ['ManagedIdentity', 'ClientId'], message: 'differs from ClientId; give the managed identity client id once' });
    }
    if ((value.AuthorityHost === undefined) !== (value.GraphEndpoint === undefined)) {
      const [missing, present] = value.AuthorityHost === undefined ? ['AuthorityHost', 'GraphEndpoint'] : ['GraphEndpoint', 'AuthorityHost'];
      ctx.addIssue({ code: 'custom', path: [missing], message: `required with ${present}; give both, or neither and choose a Cloud` });
    }
  }, ALWAYS)
  .meta({
    // One method, or ClientId alone (a user-assigned managed identity).
    oneOf: [
      ...AUTH_METHODS.map((method) => ({ required: [method] })),
      { required: ['ClientId'], not: { anyOf: AUTH_METHODS.map((method) => ({ required: [method] })) } },
    ],
    dependentRequired: { AuthorityHost: ['GraphEndpoint'], GraphEndpoint: ['AuthorityHost'] },
  });

export const destinationSchema = strictObject({
  Token: token('The idscl_ integration token from Signature 365.').optional(),
  ClientId: secret(
    'Another name for Token: the on-premises connector calls the token "the Client ID token generated by the Entra ID connector". ' +
      'A value without the idscl_ prefix is accepted with a warning.',
  ).optional(),
  TenantId: guid(HINTS.destinationTenantId).optional(),
  Endpoint: url({
    example: DEFAULT_SIGNATURE365_ENDPOINT,
    rootOnly: false,
    allowLoopbackHttp: true,
    description: 'Signature 365 API root; http is accepted only for 127.0.0.1 and localhost.',
  }).default(DEFAULT_SIGNATURE365_ENDPOINT),
})
  .superRefine((value, ctx) => {
    if (!isRecord(value)) return; // refinements run even when the value is not an object
    if (value.Token === undefined && value.ClientId === undefined) {
      ctx.addIssue({ code: 'custom', message: 'no token; set Token to the idscl_ token from Signature 365 (Integrations > Entra ID connector)' });
    } else if (value.Token !== undefined && value.ClientId !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'Token and ClientId are both set; ClientId is another name for Token, keep one' });
    }
  }, ALWAYS)
  .meta({ oneOf: [{ required: ['Token'] }, { required: ['ClientId'] }] });

function reference(prefix: string, example: string) {
  return z
    .string()
    .refine((value) => value.toLowerCase().startsWith(prefix.toLowerCase()) && value.length > prefix.length, {
      error: (issue) => `${quoteValue(issue.input)} must be written "${prefix}<Name>" with the name as written in its section, e.g. "${example}"`,
    })
    .meta({
      // JSON Schema patterns have no flags: the prefix's letters are spelled in both cases.
      pattern: `^${[...prefix].map((char) => (/[a-z]/i.test(char) ? `[${char.toUpperCase()}${char.toLowerCase()}]` : char)).join('')}.+$`,
      description: `"${prefix}<Name>"; the prefix is case-insensitive, the name is written exactly as in its section (spaces and dots included).`,
    });
}

const UPN = /^[^\s@]+@[^\s@]+$/;

function principal(what: string) {
  return z
    .string()
    .refine((value) => z.guid().safeParse(value).success || UPN.test(value), {
      error: (issue) => `${quoteValue(issue.input)} is neither an object id (GUID) nor a user principal name (name@domain); ${what}`,
    });
}

export const mappingSchema = strictObject({
  From: reference(SOURCE_PREFIX, 'EntraId:Default'),
  To: reference(DESTINATION_PREFIX, 'Signature365:Tenant1'),
  LimitToGroups: z
    .array(guid(HINTS.groupId))
    .default([])
    .meta({ description: 'Entra group object ids (members, nested included); empty or absent: the whole source.' }),
  Include: z
    .array(principal('list user object ids or UPNs'))
    .default([])
    .meta({ description: 'Users (object id or UPN) added even when outside LimitToGroups.' }),
  Exclude: z
    .array(principal('list user object ids, UPNs or group object ids'))
    .default([])
    .meta({ description: 'Users (object id or UPN) or groups (object id) kept out of this mapping.' }),
  Filter: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseUserFilter(value);
      } catch (error) {
        if (!(error instanceof FilterSyntaxError)) throw error;
        ctx.addIssue({ code: 'custom', message: `${error.message}; e.g. "department eq 'Sales' and not startswith(userPrincipalName, 'svc-')" (docs/configuration.md, Filter)` });
      }
    })
    .optional()
    .meta({
      description:
        "Attribute filter for this mapping's candidates, e.g. \"department eq 'Sales'\": eq, ne, in, startswith, endswith, and, or, not, parentheses, " +
        "'text' ('' for a quote), null. Include still adds users it would filter out.",
    }),
});

export const DEFAULT_DELETE_THRESHOLD = '20%';
/** "off", or a percentage from 0 to 100 with optional decimals: "20%", "2.5%". */
export const DELETE_THRESHOLD_TEXT = /^(?:off|(?:100(?:\.0+)?|[1-9]?[0-9](?:\.[0-9]+)?)%)$/;
const DELETE_THRESHOLD_HINT = 'expected a count (e.g. 50), a percentage from "0%" to "100%" (e.g. "20%") or "off"';

const AUDIT_RETENTION_HINT = 'expected a whole number of days from 1 to 365 (e.g. 30); the audit trail is kept this long';

export const optionsSchema = strictObject({
  DeltaIntervalMinutes: z.number().int().min(1).max(1440).default(15).meta({ description: 'How often changes are pulled, minutes.' }),
  FullReconcileHours: z.number().int().min(1).max(720).default(24).meta({ description: 'A full reconcile runs when the last one is older than this, hours.' }),
  IncludeDisabledUsers: z.boolean().default(false),
  IncludeGuests: z.boolean().default(false),
  RequireMail: z.boolean().default(true).meta({ description: 'Skip users without a mail address.' }),
  LicensedUsersOnly: z.boolean().default(false).meta({ description: 'Skip users with no assigned license (assignedLicenses empty).' }),
  OnConflict: z.enum(['All', 'FirstMapping']).default('All').meta({ description: 'A user in several mappings goes to all their destinations, or only to the first.' }),
  DeleteAfterDays: z.number().int().min(0).max(365).default(7).meta({ description: 'Days before a user who left scope is deleted at the destination; 0 = at once.' }),
  DeleteThreshold: z
    .union([z.number().int().min(0), z.string().regex(DELETE_THRESHOLD_TEXT, { error: DELETE_THRESHOLD_HINT })], { error: DELETE_THRESHOLD_HINT })
    .default(DEFAULT_DELETE_THRESHOLD)
    .meta({
      description:
        'Most deletions per destination and kind within 24 hours before they wait for an administrator: a count (50), a percentage of ' +
        'what the destination holds ("20%", at least 10, at most DeleteThresholdMax), 0 = every deletion needs approval, "off" = no limit.',
    }),
  DeleteThresholdMax: z.number().int().min(0).max(1_000_000).default(500).meta({ description: 'Upper bound of a percentage DeleteThreshold.' }),
  AuditRetentionDays: z
    .number({ error: AUDIT_RETENTION_HINT })
    .int({ error: AUDIT_RETENTION_HINT })
    .min(1, { error: AUDIT_RETENTION_HINT })
    .max(365, { error: AUDIT_RETENTION_HINT })
    .default(30)
    .meta({ description: 'Days the audit trail (one row per write or skip decision per object and destination) is kept; whole days are dropped after this (1-365).' }),
});

function namedEntries<T extends z.ZodType>(section: string, entry: T, example: string) {
  return z
    // For editors: the rules nameProblem() enforces, as far as JSON Schema can say them.
    .record(z.string().meta({ minLength: 1, maxLength: MAX_NAME_LENGTH, pattern: '^[^\\s\\u0000-\\u001f\\u007f-\\u009f](?:[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f])?$' }), entry, {
      error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? `required; add at least one entry, e.g. ${example}` : undefined),
    })
    .refine((value) => Object.keys(value).length > 0, { error: `${section} is empty; add at least one entry, e.g. ${example}` })
    .superRefine((value, ctx) => {
      for (const name of Object.keys(value)) {
        const problem = nameProblem(name);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: problem });
      }
      for (const collision of findStorageKeyCollisions(Object.keys(value))) {
        const [first, second] = collision.names;
        ctx.addIssue({
          code: 'custom',
          path: [second],
          message:
            `${JSON.stringify(second)} and ${JSON.stringify(first)} would be stored under the same key (${collision.key}): ` +
            'they are the same text in two Unicode forms, or differ too little; rename one of them',
        });
      }
    })
    .meta({ minProperties: 1 });
}

function namesOf(section: unknown): string[] {
  return isRecord(section) ? Object.keys(section) : [];
}

function checkReference(
  value: unknown,
  prefix: string,
  section: string,
  defined: readonly string[],
  path: (string | number)[],
  ctx: z.core.$RefinementCtx,
): void {
  if (typeof value !== 'string' || !value.toLowerCase().startsWith(prefix.toLowerCase())) return;
  const name = value.slice(prefix.length);
  if (name === '' || defined.includes(name)) return;
  const guess = defined.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  const suggestion = guess === undefined ? '' : ` (did you mean "${prefix}${guess}"? names are case-sensitive)`;
  const list = defined.length === 0 ? 'none' : defined.map((candidate) => JSON.stringify(candidate)).join(', ');
  ctx.addIssue({ code: 'custom', path, message: `${quoteValue(value)} is not defined under ${section}${suggestion}; defined: ${list}` });
}

/** `"EntraId:Name"` → `Name` when the prefix matches (case-insensitively, as references are read). */
function referencedName(value: unknown, prefix: string): string | undefined {
  if (typeof value !== 'string' || !value.toLowerCase().startsWith(prefix.toLowerCase())) return undefined;
  return value.slice(prefix.length);
}

/**
 * A destination keeps one set of users and groups per source tenant: every batch names its `source`
 * as the tenant id, and the destination replaces and deletes within that set. Two source entries
 * with one TenantId mapped to one destination would each plan that set from their own view and
 * delete what the other sent, so the pair is refused; one entry with a wider mapping does the job.
 * (The same tenant under two names going to different destinations is harmless.)
 */
function checkOneSourcePerTenantAndDestination(sourcesSection: unknown, mappings: readonly unknown[], ctx: z.core.$RefinementCtx): void {
  if (!isRecord(sourcesSection)) return;
  // destination name → tenant id (lower case) → the first source and mapping that sends it there
  const firstByDestination = new Map<string, Map<string, { source: string; index: number }>>();
  mappings.forEach((mapping: unknown, index) => {
    if (!isRecord(mapping)) return;
    const source = referencedName(mapping.From, SOURCE_PREFIX);
    const destination = referencedName(mapping.To, DESTINATION_PREFIX);
    if (source === undefined || destination === undefined) return;
    const entry = sourcesSection[source];
    if (!isRecord(entry) || typeof entry.TenantId !== 'string') return;
    const tenant = entry.TenantId.toLowerCase();
    const byTenant = firstByDestination.get(destination) ?? new Map<string, { source: string; index: number }>();
    firstByDestination.set(destination, byTenant);
    const first = byTenant.get(tenant);
    if (first === undefined) {
      byTenant.set(tenant, { source, index });
      return;
    }
    if (first.source === source) return;
    ctx.addIssue({
      code: 'custom',
      path: ['Mappings', index, 'From'],
      message:
        `"${SOURCE_PREFIX}${source}" and "${SOURCE_PREFIX}${first.source}" (Mappings[${first.index}]) have the same TenantId (${tenant}) and both go to ` +
        `"${DESTINATION_PREFIX}${destination}", which keeps one set of users per tenant, so each would delete what the other sent; ` +
        `map only one of them to "${DESTINATION_PREFIX}${destination}" and widen its mapping (LimitToGroups, Include) to cover both`,
    });
  });
}

export const configFileSchema = strictObject({
  $schema: z.string().optional().meta({ description: 'Path or URL of config.schema.json, for editors.' }),
  EntraId: namedEntries('EntraId', entraSourceSchema, EXAMPLES.source).meta({ description: 'Entra ID tenants to read, by name.' }),
  Signature365: namedEntries('Signature365', destinationSchema, EXAMPLES.destination).meta({ description: 'Signature 365 tenants to write, by name.' }),
  Mappings: z
    .array(mappingSchema, { error: (issue) => (issue.input === undefined ? `required; add at least one mapping, e.g. ${EXAMPLES.mapping}` : undefined) })
    .min(1, { error: `no mapping; add at least one, e.g. ${EXAMPLES.mapping}` })
    .meta({ description: 'Which users of which source go to which destination.' }),
  Options: optionsSchema.optional(),
})
  .superRefine((value, ctx) => {
    // Runs even when other parts failed: a misnamed mapping target is the commonest mistake.
    const mappings: unknown = value.Mappings;
    if (!Array.isArray(mappings)) return;
    const sources = namesOf(value.EntraId);
    const destinations = namesOf(value.Signature365);
    mappings.forEach((mapping: unknown, index) => {
      if (!isRecord(mapping)) return;
      checkReference(mapping.From, SOURCE_PREFIX, 'EntraId', sources, ['Mappings', index, 'From'], ctx);
      checkReference(mapping.To, DESTINATION_PREFIX, 'Signature365', destinations, ['Mappings', index, 'To'], ctx);
    });
    checkOneSourcePerTenantAndDestination(value.EntraId, mappings, ctx);
  }, ALWAYS)
  .meta({ title: 'Signature 365 Entra ID Connector configuration' });

export type ConfigFile = z.output<typeof configFileSchema>;
export type ConfigFileInput = z.input<typeof configFileSchema>;
export type EntraSourceEntry = z.output<typeof entraSourceSchema>;
export type DestinationEntry = z.output<typeof destinationSchema>;
export type MappingEntry = z.output<typeof mappingSchema>;
export type OptionsEntry = z.output<typeof optionsSchema>;

/** The JSON Schema for editors and for config.schema.json: the input form, where defaulted keys are optional. */
export function buildConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configFileSchema, { io: 'input', target: 'draft-2020-12' });
}
