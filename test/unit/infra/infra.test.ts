import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { QUARANTINE_EVENTS } from '../../../src/sync/uploadWork';
import { APP_SETTINGS, DEFAULT_SYNC_SCHEDULE, MAX_UPLOAD_CONCURRENCY_PER_DESTINATION } from '../../../src/setup/appSettings';

// The Bicep CLI is not available in CI, so these checks read the templates as text. They
// catch the drift that `bicep build` would not: a setting the code reads that Azure never
// sets, a parameter nobody passes, a role nobody can name.

const root = resolve(__dirname, '../../..');
const infraDir = join(root, 'infra');

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

function bicepFiles(): string[] {
  const app = join(infraDir, 'app');
  return [join(infraDir, 'main.bicep'), ...readdirSync(app).filter((f) => f.endsWith('.bicep')).map((f) => join(app, f))];
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

/**
 * Bicep text with comments removed and string literals emptied except for their `${...}`
 * interpolations, so identifiers inside plain strings do not count as uses.
 */
function codeOnly(source: string): string {
  return stripComments(source).replace(/'(?:[^'\\]|\\.)*'/g, (literal) => {
    const interpolations = literal.match(/\$\{[^}]*\}/g) ?? [];
    return `'${interpolations.join(' ')}'`;
  });
}

interface BicepParam {
  name: string;
  defaultValue: string | undefined;
}

function params(source: string): BicepParam[] {
  return [...stripComments(source).matchAll(/^param\s+(\w+)\s+[\w.?[\]]+[ \t]*(?:=[ \t]*(.+?))?[ \t]*$/gm)].map((m) => ({
    name: m[1] ?? '',
    defaultValue: m[2]?.trim(),
  }));
}

/** Uses of `name` outside its declaration, object keys (`name: ...`) and member accesses (`x.name`). */
function isUsed(source: string, name: string): boolean {
  const code = codeOnly(source)
    .replace(new RegExp(`^param\\s+${name}\\b.*$`, 'gm'), '')
    .replace(/^\s*(?:output|var|resource|module)\s+\w+/gm, '')
    .replace(new RegExp(`(^|[{,])\\s*${name}\\s*:`, 'gm'), '$1')
    .replace(new RegExp(`\\.\\??${name}\\b`, 'g'), '');
  return new RegExp(`\\b${name}\\b`).test(code);
}

/** Top-level keys of the object literal assigned to `var <name> = {`, one property per line. */
function objectKeys(source: string, varName: string): string[] {
  const lines = stripComments(source).split('\n');
  const start = lines.findIndex((line) => line.startsWith(`var ${varName} = {`));
  if (start < 0) throw new Error(`var ${varName} not found`);
  const keys: string[] = [];
  let depth = 1;
  for (const line of lines.slice(start + 1)) {
    const key = depth === 1 ? /^\s*'?([A-Za-z_]\w*)'?\s*:/.exec(line)?.[1] : undefined;
    if (key !== undefined) keys.push(key);
    depth += (line.match(/[{[(]/g) ?? []).length - (line.match(/[}\])]/g) ?? []).length;
    if (depth <= 0) return keys;
  }
  throw new Error(`var ${varName} is not closed`);
}

function parametersJson(): Record<string, { value: unknown }> {
  const parsed = JSON.parse(read(join(infraDir, 'main.parameters.json'))) as { parameters: Record<string, { value: unknown }> };
  return parsed.parameters;
}

const apiBicep = read(join(infraDir, 'app', 'api.bicep'));
const mainBicep = read(join(infraDir, 'main.bicep'));
const bicepAppSettings = objectKeys(apiBicep, 'baseAppSettings');

/**
 * Settings the code reads that Azure deliberately leaves unset, each with what the code does
 * then. A new entry in APP_SETTINGS must land either in api.bicep or here, with its reason.
 */
const NOT_SET_IN_AZURE: Record<string, string> = {
  AzureWebJobsStorage: 'a connection string, local only (Azurite); unset, the identity-based AzureWebJobsStorage__* settings are used',
  CONFIG_PATH: 'a file path, local alternative to CONFIG_BLOB_URI; unset, the blob at CONFIG_BLOB_URI is read',
  CONNECTOR_CONFIG: 'the JSON inline, alternative to CONFIG_BLOB_URI; unset, the blob at CONFIG_BLOB_URI is read',
  WEBSITE_HOSTNAME: 'set by App Service itself on every function app; the default base of the notification URLs',
  GRAPH_NOTIFICATION_BASE_URL: 'only for a custom domain or a proxy in front of the app; unset, https://$WEBSITE_HOSTNAME is used',
  SERVE_API_KEY: '`s365-connector serve` only; the Functions app guards /api/status with its function key',
};

/** Built-in roles the templates may assign, by role definition id. */
const KNOWN_ROLES: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
};

/** Well-known application ids the templates name (not roles), each with the comment its line must carry. */
const KNOWN_APP_IDS: Record<string, string> = {
  '00000003-0000-0000-c000-000000000000': 'Microsoft Graph',
};

describe('app settings', () => {
  it('sets in Azure every setting the code reads, or names why it need not', () => {
    const unaccounted = Object.values(APP_SETTINGS).filter(
      (name) => !bicepAppSettings.includes(name) && NOT_SET_IN_AZURE[name] === undefined,
    );
    expect(unaccounted).toEqual([]);
  });

  it('lists as not-set only settings the code still reads and Bicep does not set', () => {
    const readByCode: string[] = Object.values(APP_SETTINGS);
    for (const name of Object.keys(NOT_SET_IN_AZURE)) {
      expect(readByCode).toContain(name);
      expect(bicepAppSettings).not.toContain(name);
    }
  });

  it('uses identity-based storage with the endpoints the queue trigger and table client need', () => {
    expect(bicepAppSettings).toEqual(
      expect.arrayContaining([
        'AzureWebJobsStorage__accountName',
        'AzureWebJobsStorage__credential',
        'AzureWebJobsStorage__clientId',
        'AzureWebJobsStorage__blobServiceUri',
        'AzureWebJobsStorage__queueServiceUri',
        'AzureWebJobsStorage__tableServiceUri',
      ]),
    );
    expect(apiBicep).toMatch(/AzureWebJobsStorage__credential:\s*'managedidentity'/);
  });

  it('sends telemetry with the identity rather than an ingestion key', () => {
    expect(bicepAppSettings).toEqual(expect.arrayContaining(['APPLICATIONINSIGHTS_CONNECTION_STRING', 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING']));
    expect(apiBicep).toMatch(/APPLICATIONINSIGHTS_AUTHENTICATION_STRING:\s*'ClientId=\$\{identityClientId\};Authorization=AAD'/);
    expect(read(join(infraDir, 'app', 'monitoring.bicep'))).toMatch(/disableLocalAuth:\s*true/);
  });

  it('sets every %NAME% binding expression the functions use, SYNC_SCHEDULE included', () => {
    const functionsDir = join(root, 'functions');
    const files = existsSync(functionsDir) ? readdirSync(functionsDir).filter((f) => f.endsWith('.ts')) : [];
    const expressions = files.flatMap((f) => [...read(join(functionsDir, f)).matchAll(/['"`]%(\w+)%['"`]/g)].map((m) => m[1] ?? ''));
    for (const name of [...expressions, 'SYNC_SCHEDULE']) expect(bicepAppSettings).toContain(name);
  });

  it('defaults the sync schedule to the one the code assumes', () => {
    const syncSchedule = params(mainBicep).find((p) => p.name === 'syncSchedule');
    expect(syncSchedule?.defaultValue).toBe(`'${DEFAULT_SYNC_SCHEDULE}'`);
  });

  it('points CONFIG_BLOB_URI at config.json in the config container unless overridden', () => {
    expect(apiBicep).toMatch(/CONFIG_BLOB_URI:\s*!empty\(configBlobUri\)\s*\?\s*configBlobUri\s*:\s*'\$\{endpoints\.blob\}\$\{configContainerName\}\/config\.json'/);
    expect(params(mainBicep).find((p) => p.name === 'configContainerName')?.defaultValue).toBe("'config'");
  });
});

describe('parameters', () => {
  it.each(bicepFiles().map((f) => [relative(root, f), f]))('uses every param it declares: %s', (_label, file) => {
    const source = read(file);
    const unused = params(source)
      .map((p) => p.name)
      .filter((name) => !isUsed(source, name));
    expect(unused).toEqual([]);
  });

  it('declares in main.bicep every parameter main.parameters.json passes', () => {
    const declared = params(mainBicep).map((p) => p.name);
    expect(Object.keys(parametersJson()).filter((name) => !declared.includes(name))).toEqual([]);
  });

  it('passes every main.bicep param that has no default, so azd never prompts for one', () => {
    const passed = Object.keys(parametersJson());
    const required = params(mainBicep).filter((p) => p.defaultValue === undefined).map((p) => p.name);
    expect(required.filter((name) => !passed.includes(name))).toEqual([]);
  });

  it('gives the same default in main.parameters.json (${VAR=default}) as in main.bicep', () => {
    const bicepDefaults = new Map(params(mainBicep).map((p) => [p.name, p.defaultValue]));
    for (const [name, { value }] of Object.entries(parametersJson())) {
      const fallback = typeof value === 'string' ? /^\$\{\w+=(.*)\}$/.exec(value)?.[1] : undefined;
      if (fallback === undefined) continue;
      const bicepDefault = bicepDefaults.get(name);
      expect(bicepDefault === `'${fallback}'` || bicepDefault === fallback, `${name}: ${fallback} vs ${bicepDefault}`).toBe(true);
    }
  });

  it('passes every param a module declares without a default', () => {
    for (const file of bicepFiles()) {
      const source = stripComments(read(file));
      for (const m of source.matchAll(/module\s+\w+\s+'(\.{1,2}\/[^']+\.bicep|app\/[^']+\.bicep)'[^{]*\{([\s\S]*?)\n\}/g)) {
        const modulePath = resolve(dirname(file), m[1] ?? '');
        const body = m[2] ?? '';
        const missing = params(read(modulePath))
          .filter((p) => p.defaultValue === undefined)
          .filter((p) => !new RegExp(`^\\s*${p.name}\\s*:`, 'm').test(body))
          .map((p) => p.name);
        expect(missing, `${relative(root, file)} -> ${m[1]}`).toEqual([]);
      }
    }
  });
});

describe('modules', () => {
  it('references local modules that exist', () => {
    for (const file of bicepFiles()) {
      for (const m of stripComments(read(file)).matchAll(/^module\s+\w+\s+'([^']+)'/gm)) {
        const path = m[1] ?? '';
        if (path.startsWith('br/') || path.startsWith('br:')) continue;
        expect(existsSync(resolve(dirname(file), path)), `${relative(root, file)} -> ${path}`).toBe(true);
      }
    }
  });

  it('pins every Azure Verified Module to a version', () => {
    const registryRefs = bicepFiles().flatMap((f) => [...read(f).matchAll(/'(br\/public:[^']+)'/g)].map((m) => m[1] ?? ''));
    expect(registryRefs.length).toBeGreaterThan(0);
    for (const ref of registryRefs) expect(ref).toMatch(/^br\/public:avm\/res\/[\w/-]+:\d+\.\d+\.\d+$/);
  });

  it('uses only abbreviations that abbreviations.json defines', () => {
    const abbreviations = Object.keys(JSON.parse(read(join(infraDir, 'abbreviations.json'))) as Record<string, string>);
    const used = [...mainBicep.matchAll(/abbrs\.(\w+)/g)].map((m) => m[1] ?? '');
    expect(used.filter((name) => !abbreviations.includes(name))).toEqual([]);
    expect(abbreviations.filter((name) => !used.includes(name))).toEqual([]);
  });
});

describe('roles', () => {
  const rbac = read(join(infraDir, 'app', 'rbac.bicep'));

  it('uses only known role definition ids, each named in a comment on its line', () => {
    const guidLines = bicepFiles().flatMap((f) =>
      read(f)
        .split('\n')
        .filter((line) => /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(line)),
    );
    expect(guidLines.length).toBeGreaterThan(0);
    for (const line of guidLines) {
      const guid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(line)?.[0]?.toLowerCase() ?? '';
      const appName = KNOWN_APP_IDS[guid];
      if (appName !== undefined) {
        expect(line).toContain(`// ${appName}`);
        continue;
      }
      const role = KNOWN_ROLES[guid];
      expect(role, `unknown role id in: ${line.trim()}`).toBeDefined();
      expect(line).toContain(`// ${role}`);
    }
  });

  it.each([
    ['Storage Blob Data Owner', 'identityStorageRoles'],
    ['Storage Queue Data Contributor', 'identityStorageRoles'],
    ['Storage Table Data Contributor', 'identityStorageRoles'],
    ['Monitoring Metrics Publisher', 'identityTelemetry'],
    ['Key Vault Secrets User', 'identitySecrets'],
  ])('grants the app identity %s (through %s)', (role, grantedBy) => {
    const roleVar = [...rbac.matchAll(/^var\s+(\w+)\s*=\s*'[0-9a-f-]+'\s*\/\/\s*(.+)$/gm)].find((m) => m[2]?.trim() === role)?.[1];
    expect(roleVar, `no var names ${role}`).toBeDefined();
    const grant = grantedBy === 'identityStorageRoles' ? listOf(rbac, grantedBy) : blockOf(rbac, grantedBy);
    expect(grant).toMatch(new RegExp(`\\b${roleVar ?? '(none)'}\\b`));
    if (grantedBy !== 'identityStorageRoles') expect(grant).toMatch(/principalId: identityPrincipalId/);
  });

  it('grants the storage roles in identityStorageRoles to the identity', () => {
    expect(blockOf(rbac, 'identityStorage')).toMatch(/for roleId in identityStorageRoles:[\s\S]*principalId: identityPrincipalId/);
  });

  function listOf(source: string, varName: string): string {
    return new RegExp(`^var ${varName} = \\[(.*)\\]$`, 'm').exec(source)?.[1] ?? '';
  }

  function blockOf(source: string, resourceName: string): string {
    const start = source.indexOf(`resource ${resourceName} `);
    return start < 0 ? '' : source.slice(start, source.indexOf('\n}', start));
  }
});

describe('storage and secrets', () => {
  const storage = read(join(infraDir, 'app', 'storage.bicep'));
  const allInfra = [...bicepFiles(), join(infraDir, 'main.parameters.json'), join(root, 'azure.yaml')].map((f) => [f, read(f)] as const);

  it('turns shared keys and public blob access off and requires TLS 1.2', () => {
    expect(codeOnly(storage)).toMatch(/allowSharedKeyAccess:\s*false/);
    expect(codeOnly(storage)).toMatch(/allowBlobPublicAccess:\s*false/);
    expect(storage).toMatch(/minimumTlsVersion:\s*'TLS1_2'/);
  });

  it('creates the deployment and config containers', () => {
    expect(storage).toMatch(/\{\s*name:\s*deploymentContainerName\s*\}/);
    expect(storage).toMatch(/\{\s*name:\s*configContainerName\s*\}/);
  });

  it('has no account key, SAS or storage connection string anywhere', () => {
    for (const [file, text] of allInfra) {
      expect(text, relative(root, file)).not.toMatch(/listKeys|AccountKey|DefaultEndpointsProtocol|SharedAccessSignature|primaryKey|secondaryKey|listAccountSas|UseDevelopmentStorage/i);
      // The only connection string is Application Insights', which carries no key once local auth is off.
      for (const line of text.split('\n').filter((l) => /connectionstring/i.test(stripComments(l)))) {
        expect(line, relative(root, file)).toMatch(/APPLICATIONINSIGHTS_CONNECTION_STRING:\s*applicationInsights\.properties\.ConnectionString/);
      }
    }
    expect(bicepAppSettings).not.toContain('AzureWebJobsStorage');
  });

  it('offers an optional Key Vault with RBAC authorisation, resolved with the user-assigned identity', () => {
    expect(params(mainBicep).find((p) => p.name === 'createKeyVault')?.defaultValue).toBe('true');
    expect(mainBicep).toMatch(/module keyVault '\.\/app\/keyvault\.bicep' = if \(createKeyVault\)/);
    expect(read(join(infraDir, 'app', 'keyvault.bicep'))).toMatch(/enableRbacAuthorization:\s*true/);
    expect(apiBicep).toMatch(/keyVaultAccessIdentityResourceId:\s*identityResourceId/);
  });
});

describe('function app', () => {
  it('runs Node 22 on the Flex Consumption plan with 2048 MB instances by default', () => {
    expect(apiBicep).toMatch(/skuName:\s*'FC1'/);
    expect(apiBicep).toMatch(/runtime:\s*\{\s*name:\s*'node'\s*version:\s*'22'\s*\}/);
    expect(params(mainBicep).find((p) => p.name === 'instanceMemoryMB')?.defaultValue).toBe('2048');
  });

  it('runs as the user-assigned identity, for the deployment package too', () => {
    expect(apiBicep).toMatch(/userAssignedResourceIds:\s*\[identityResourceId\]/);
    expect(apiBicep).toMatch(/type:\s*'UserAssignedIdentity'\s*userAssignedIdentityResourceId:\s*identityResourceId/);
  });

  it('is the azd service "api", a TypeScript function app at the repository root, built remotely', () => {
    const azureYaml = read(join(root, 'azure.yaml'));
    expect(azureYaml).toMatch(/^services:\n {2}api:\n {4}project: \.\n {4}language: ts\n {4}host: function\n {4}remoteBuild: true$/m);
  });
});

describe('outputs', () => {
  const outputs = [...mainBicep.matchAll(/^output\s+(\w+)\s/gm)].map((m) => m[1] ?? '');

  it('names every output like an environment variable', () => {
    expect(outputs.filter((name) => !/^[A-Z][A-Z0-9_]*$/.test(name))).toEqual([]);
  });

  it('gives what the docs and config.json need', () => {
    expect(outputs).toEqual(
      expect.arrayContaining([
        'AZURE_FUNCTION_APP_NAME',
        'AZURE_FUNCTION_APP_URL',
        'GRAPH_NOTIFICATION_URL',
        'AZURE_APPLICATION_INSIGHTS_NAME',
        'AZURE_APPLICATION_INSIGHTS_ID',
        'AZURE_STORAGE_ACCOUNT_NAME',
        'CONFIG_BLOB_URI',
        'AZURE_KEY_VAULT_NAME',
        'AZURE_KEY_VAULT_URI',
        'AZURE_CLIENT_ID',
        'AZURE_IDENTITY_PRINCIPAL_ID',
      ]),
    );
  });

  it('mentions in docs/deploy.md only variables that azd, an output or an app setting defines', () => {
    const azdBuiltIns = ['AZURE_ENV_NAME', 'AZURE_LOCATION', 'AZURE_SUBSCRIPTION_ID', 'AZURE_PRINCIPAL_ID', 'AZURE_PRINCIPAL_TYPE'];
    const passedThrough = [...read(join(infraDir, 'main.parameters.json')).matchAll(/\$\{(\w+)/g)].map((m) => m[1] ?? '');
    const known = new Set([...azdBuiltIns, ...outputs, ...bicepAppSettings, ...passedThrough]);
    const mentioned = new Set([...read(join(root, 'docs', 'deploy.md')).matchAll(/\b(AZURE_[A-Z0-9_]+|CONFIG_BLOB_URI)\b/g)].map((m) => m[1] ?? ''));
    expect([...mentioned].filter((name) => !known.has(name))).toEqual([]);
  });
});

interface ModuleDeployment {
  /** The deployment name as written: a literal's text, or the expression. */
  name: string;
  /** Where it is declared, for the failure message. */
  declaredIn: string;
  scope: string;
}

/** Top-level `module` blocks of a Bicep file: symbol, target path and body. */
function moduleBlocks(source: string): { path: string; body: string }[] {
  return [...stripComments(source).matchAll(/^module\s+\w+\s+'([^']+)'\s*=[^\n]*\{\n([\s\S]*?)^\]?\}/gm)].map((m) => ({ path: m[1] ?? '', body: m[2] ?? '' }));
}

/**
 * Every nested deployment main.bicep starts, following local modules down, with the scope it
 * lands in: a module without `scope:` deploys where its parent does.
 */
function deploymentsFrom(file: string, scope: string): ModuleDeployment[] {
  return moduleBlocks(read(file)).flatMap(({ path, body }) => {
    const rawName = /^ {2,4}name:\s*(.+)$/m.exec(body)?.[1]?.trim() ?? '(unnamed)';
    const name = /^'([^'$]*)'$/.exec(rawName)?.[1] ?? rawName;
    const moduleScope = /^ {2,4}scope:\s*(.+)$/m.exec(body)?.[1]?.trim() ?? scope;
    const own = { name, declaredIn: relative(root, file), scope: moduleScope };
    const isLocal = path.startsWith('./') || path.startsWith('../');
    return isLocal ? [own, ...deploymentsFrom(resolve(dirname(file), path), moduleScope)] : [own];
  });
}

describe('deployment names', () => {
  const deployments = deploymentsFrom(join(infraDir, 'main.bicep'), 'subscription');

  it('finds the nested deployments, local modules followed down', () => {
    expect(deployments.length).toBeGreaterThan(8);
    expect(deployments.some((d) => d.declaredIn === join('infra', 'app', 'keyvault.bicep'))).toBe(true);
  });

  it('gives every deployment a name unique in its scope, across nesting (a nested deployment may not share its parent\'s name)', () => {
    const byScope = new Map<string, ModuleDeployment[]>();
    for (const d of deployments) byScope.set(d.scope, [...(byScope.get(d.scope) ?? []), d]);
    const clashes: string[] = [];
    for (const [scope, list] of byScope) {
      for (const d of list) {
        const same = list.filter((other) => other.name === d.name);
        if (same.length > 1 && same[0] === d) clashes.push(`${scope}: '${d.name}' in ${same.map((s) => s.declaredIn).join(', ')}`);
      }
    }
    expect(clashes).toEqual([]);
  });
});

describe('scale-out bound', () => {
  const host = JSON.parse(read(join(root, 'host.json'))) as { extensions: { queues: { batchSize: number; newBatchThreshold: number } } };
  const perInstance = host.extensions.queues.batchSize + host.extensions.queues.newBatchThreshold;

  it('is a parameter stated as concurrent uploads per destination, 8 by default, in place of a bare instance count', () => {
    expect(params(mainBicep).find((p) => p.name === 'uploadConcurrencyPerDestination')?.defaultValue).toBe('8');
    expect(params(mainBicep).map((p) => p.name)).not.toContain('maximumInstanceCount');
  });

  it('derives maximumInstanceCount from it with the per-instance queue concurrency host.json gives', () => {
    expect(apiBicep).toMatch(new RegExp(`^var queueMessagesPerInstance = ${perInstance}$`, 'm'));
    expect(apiBicep).toMatch(/^var maximumInstanceCount = max\(1, uploadConcurrencyPerDestination \/ queueMessagesPerInstance\)$/m);
    expect(apiBicep).toMatch(/scaleAndConcurrency:\s*\{[^}]*maximumInstanceCount: maximumInstanceCount/);
  });

  it('keeps the worst case at one destination within the bound: instances x messages per instance <= uploads per destination', () => {
    const uploadsPerDestination = 8;
    const instances = Math.max(1, Math.floor(uploadsPerDestination / perInstance));
    expect(perInstance).toBeGreaterThanOrEqual(1);
    expect(instances * perInstance).toBeLessThanOrEqual(uploadsPerDestination);
  });

  it('allows in Bicep no more concurrent uploads than the app accepts (a larger value would stop the app at start)', () => {
    for (const source of [mainBicep, apiBicep]) {
      expect(source).toMatch(new RegExp(`@maxValue\\(${MAX_UPLOAD_CONCURRENCY_PER_DESTINATION}\\)\\s*param uploadConcurrencyPerDestination`));
    }
  });

  it('hands the same number to the in-process limiter as UPLOAD_CONCURRENCY_PER_DESTINATION', () => {
    expect(apiBicep).toMatch(/UPLOAD_CONCURRENCY_PER_DESTINATION:\s*string\(uploadConcurrencyPerDestination\)/);
  });

  it('documents the arithmetic in docs/deploy.md', () => {
    const deploy = read(join(root, 'docs', 'deploy.md'));
    for (const word of ['uploadConcurrencyPerDestination', 'maximumInstanceCount', 'batchSize', 'newBatchThreshold', 'per instance']) expect(deploy).toContain(word);
  });
});

describe('telemetry', () => {
  it('never samples traces or exceptions, so no warning or error line is dropped', () => {
    const host = JSON.parse(read(join(root, 'host.json'))) as { logging: { applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes?: string } } } };
    const sampling = host.logging.applicationInsights.samplingSettings;
    const excluded = (sampling.excludedTypes ?? '').split(';');
    expect(sampling.isEnabled === false || (excluded.includes('Trace') && excluded.includes('Exception'))).toBe(true);
  });
});

/** `'event.name'` literals a logger call in src/ or functions/ writes. */
function loggedEvents(): Set<string> {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  // Quarantine lines are logged through this map (one event name per reason).
  const events = new Set<string>(Object.values(QUARANTINE_EVENTS));
  for (const file of [...files(join(root, 'src')), ...files(join(root, 'functions'))]) {
    for (const line of read(file).split('\n').filter((l) => /\.(debug|info|warn|error)\(/.test(l))) {
      for (const m of line.matchAll(/'([a-z][A-Za-z]*\.[a-z][A-Za-z]*)'/g)) events.add(m[1] ?? '');
    }
  }
  return events;
}

describe('alerts', () => {
  const alertsPath = join(infraDir, 'app', 'alerts.bicep');
  const alerts = existsSync(alertsPath) ? read(alertsPath) : '';

  it('are deployed with the app, on Application Insights', () => {
    expect(mainBicep).toMatch(/^module alerts '\.\/app\/alerts\.bicep' = \{/m);
    expect(alerts).toMatch(/resource \w+ 'Microsoft\.Insights\/scheduledQueryRules@[\d-]+(?:-preview)?' = /);
    expect(alerts).toMatch(/scopes:\s*\[applicationInsights\.id\]/);
  });

  it.each([
    ['failed runs', 'failedRunEvents'],
    ['upload failures or poison messages', 'uploadFailureEvents'],
    ['a destination quarantined', 'quarantineEvents'],
    ['deletions held for approval', 'heldDeletionEvents'],
    ['a credential ending within 30 days', 'credentialEvents'],
  ])('cover %s (%s) with event names the code really logs', (_what, listName) => {
    const list = new RegExp(`^var ${listName} = \\[(.*)\\]$`, 'm').exec(alerts)?.[1];
    expect(list, `var ${listName}`).toBeDefined();
    const names = [...(list ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');
    expect(names.length).toBeGreaterThan(0);
    const logged = loggedEvents();
    expect(names.filter((name) => !logged.has(name))).toEqual([]);
    expect(alerts).toMatch(new RegExp(`map\\(${listName}, `));
  });

  it('cover a source with no successful sync for N hours, N a parameter', () => {
    const event = /^var successfulSyncEvent = '([^']+)'$/m.exec(alerts)?.[1];
    expect(event === undefined ? false : loggedEvents().has(event)).toBe(true);
    expect(alerts).toMatch(/ago\(\$\{noSuccessfulSyncHours\}h\)/);
    expect(params(mainBicep).find((p) => p.name === 'alertNoSuccessfulSyncHours')?.defaultValue).toBe('6');
  });

  it('e-mail an action group only when alertEmail is set', () => {
    expect(params(mainBicep).find((p) => p.name === 'alertEmail')?.defaultValue).toBe("''");
    expect(alerts).toMatch(/resource actionGroup 'Microsoft\.Insights\/actionGroups@[\d-]+' = if \(!empty\(alertEmail\)\)/);
    expect(alerts).toMatch(/var actions = empty\(alertEmail\) \? \{\} : \{ actionGroups: \[actionGroup\.id\] \}/);
  });
});

describe('Microsoft Graph app roles', () => {
  const modulePath = join(infraDir, 'app', 'graphPermissions.bicep');
  const graphModule = existsSync(modulePath) ? read(modulePath) : '';

  it('are granted only when grantGraphAppRoles is set, off by default', () => {
    expect(params(mainBicep).find((p) => p.name === 'grantGraphAppRoles')?.defaultValue).toBe('false');
    expect(mainBicep).toMatch(/^module graphPermissions '\.\/app\/graphPermissions\.bicep' = if \(grantGraphAppRoles\) \{/m);
  });

  it('use the Microsoft Graph Bicep extension, its version pinned in bicepconfig.json', () => {
    expect(graphModule).toMatch(/^extension microsoftGraphV1$/m);
    const config = JSON.parse(read(join(infraDir, 'bicepconfig.json'))) as { extensions?: Record<string, string> };
    expect(config.extensions?.microsoftGraphV1).toMatch(/^br:mcr\.microsoft\.com\/bicep\/extensions\/microsoftgraph\/v1\.0:\d+\.\d+\.\d+$/);
  });

  it('look the Graph service principal and the role ids up by value, writing no role id down', () => {
    expect(graphModule).toMatch(/resource graph 'Microsoft\.Graph\/servicePrincipals@v1\.0' existing = \{\s*appId: '00000003-0000-0000-c000-000000000000'/);
    expect(graphModule).toMatch(/'Microsoft\.Graph\/appRoleAssignedTo@v1\.0'/);
    expect(graphModule).toMatch(/appRoleId: filter\(graph\.appRoles, r => r\.value == role/);
    expect(graphModule).toMatch(/resourceId: graph\.id/);
    const guids = graphModule.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi) ?? [];
    expect(guids).toEqual(['00000003-0000-0000-c000-000000000000']);
  });
});

describe('webhook outputs', () => {
  it('name the notification URL the app subscribes with, without its key', () => {
    expect(mainBicep).toMatch(/^output GRAPH_NOTIFICATION_URL string = '\$\{api\.outputs\.url\}\/api\/graph\/notifications'$/m);
    const route = /route:\s*'(graph\/notifications)'/.exec(read(join(root, 'functions', 'graphWebhook.ts')))?.[1];
    expect(route).toBe('graph/notifications');
    const outputLines = mainBicep.split('\n').filter((line) => line.startsWith('output '));
    expect(outputLines.filter((line) => /graphWebhookKey|GRAPH_WEBHOOK_KEY/.test(line))).toEqual([]);
  });
});
