import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { APP_SETTINGS, DEFAULT_SYNC_SCHEDULE } from '../../../src/setup/appSettings';

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
  UPLOAD_CONCURRENCY_PER_DESTINATION: 'defaults to 8; infra sets it (issue 15)',
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
  it('runs Node 20 on the Flex Consumption plan with 2048 MB instances by default', () => {
    expect(apiBicep).toMatch(/skuName:\s*'FC1'/);
    expect(apiBicep).toMatch(/runtime:\s*\{\s*name:\s*'node'\s*version:\s*'20'\s*\}/);
    expect(params(mainBicep).find((p) => p.name === 'instanceMemoryMB')?.defaultValue).toBe('2048');
  });

  it('runs as the user-assigned identity, for the deployment package too', () => {
    expect(apiBicep).toMatch(/userAssignedResourceIds:\s*\[identityResourceId\]/);
    expect(apiBicep).toMatch(/type:\s*'UserAssignedIdentity'\s*userAssignedIdentityResourceId:\s*identityResourceId/);
  });

  it('is the azd service "api", a TypeScript function app at the repository root', () => {
    const azureYaml = read(join(root, 'azure.yaml'));
    expect(azureYaml).toMatch(/^services:\n {2}api:\n {4}project: \.\n {4}language: ts\n {4}host: function$/m);
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
