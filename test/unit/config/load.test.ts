import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors';
import { findDuplicateKeys, locateJsonError, parseConfigText } from '../../../src/config/jsonText';
import { loadConfig } from '../../../src/config/load';
import { TOKEN, config, source } from './builders';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'config-'));
  folders.push(folder);
  return folder;
}

function writeConfig(content: unknown, name = 'config.json'): string {
  const file = join(tempFolder(), name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

async function loadError(env: NodeJS.ProcessEnv): Promise<ConfigError> {
  const error: unknown = await loadConfig(env).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadConfig', () => {
  it('reads the file named by CONFIG_PATH', async () => {
    const file = writeConfig(config());
    const loaded = await loadConfig({ CONFIG_PATH: file });
    expect(loaded.origin).toBe('file');
    expect(loaded.location).toBe(file);
    expect(loaded.config.destinations[0]?.token).toBe(TOKEN);
  });

  it('reads certificate paths relative to the config file', async () => {
    const file = writeConfig(config({ EntraId: { Default: source({ ClientSecret: undefined, Certificate: { Path: 'certs/app.pem' } }) } }));
    const folder = resolve(file, '..');
    mkdirSync(join(folder, 'certs'));
    copyFileSync(resolve(__dirname, '../../fakes/tls/client-cert.pem'), join(folder, 'certs', 'app.pem'));
    const loaded = await loadConfig({ CONFIG_PATH: file });
    expect(loaded.config.sources[0]?.auth.kind).toBe('certificate');
  });

  it('reads the JSON in CONNECTOR_CONFIG', async () => {
    const loaded = await loadConfig({ CONNECTOR_CONFIG: JSON.stringify(config()) });
    expect(loaded).toMatchObject({ origin: 'appSetting', location: 'app setting CONNECTOR_CONFIG' });
  });

  it('prefers CONFIG_PATH over CONNECTOR_CONFIG', async () => {
    const loaded = await loadConfig({ CONFIG_PATH: writeConfig(config()), CONNECTOR_CONFIG: '{ not json' });
    expect(loaded.origin).toBe('file');
  });

  it('treats empty settings as unset', async () => {
    const loaded = await loadConfig({ CONFIG_BLOB_URI: ' ', CONFIG_PATH: '', CONNECTOR_CONFIG: JSON.stringify(config()) });
    expect(loaded.origin).toBe('appSetting');
  });

  it('names the three settings when none is set', async () => {
    const error = await loadError({});
    expect(error.issues).toEqual([
      {
        path: '',
        message:
          'no configuration; set one of the app settings CONFIG_BLOB_URI, CONFIG_PATH, CONNECTOR_CONFIG: CONFIG_BLOB_URI to the URL of config.json in Blob storage, ' +
          'CONFIG_PATH to a config.json file, or CONNECTOR_CONFIG to the JSON itself',
      },
    ]);
  });

  it('names a missing file', async () => {
    const missing = join(tempFolder(), 'nope.json');
    const error = await loadError({ CONFIG_PATH: missing });
    expect(error.issues).toEqual([
      { path: 'CONFIG_PATH', message: `cannot read ${JSON.stringify(missing)} (ENOENT); create it (see config.sample.json) or correct the setting` },
    ]);
  });

  it('tells where an invalid config came from', async () => {
    const file = writeConfig({});
    const error = await loadError({ CONFIG_PATH: file });
    expect(error.location).toBe(file);
    expect(error.message.split('\n')[0]).toBe(`The configuration (${file}) has 1 problem:`);
  });

  it('gives line and column of a JSON syntax error and never quotes the text', async () => {
    const text = `{\n  "Signature365": { "T1": { "Token": "${TOKEN}" } }\n  "Mappings": []\n}`;
    const error = await loadError({ CONNECTOR_CONFIG: text });
    expect(error.issues).toEqual([{ path: '', message: "not valid JSON at line 3, column 3: expected ',' or '}'; unexpected character \"\\\"\" (a missing comma?)" }]);
    expect(error.message).not.toContain(TOKEN.slice(6));
  });
});

describe('parseConfigText', () => {
  it('accepts a byte-order mark (Notepad writes one)', () => {
    expect(parseConfigText('\uFEFF{"a":1}')).toEqual({ a: 1 });
  });

  it('calls blank text empty', () => {
    expect(() => parseConfigText('  \n')).toThrow('the configuration is empty (no JSON at all); see config.sample.json');
  });
});

describe('locateJsonError', () => {
  it.each([
    ['{"a": 1,\n}', { line: 1, column: 8, reason: "trailing comma before '}' (JSON allows none)" }],
    ['{\n  // note\n  "a": 1}', { line: 2, column: 3, reason: 'expected a property name in double quotes; comments are not allowed in JSON' }],
    ["{'a': 1}", { line: 1, column: 2, reason: 'expected a property name in double quotes; strings need double quotes (")' }],
    ['{"Path": "C:\\certs\\app.pem"}', { line: 1, column: 13, reason: 'invalid escape; write a backslash as \\\\ (Windows paths: C:\\\\certs\\\\app.pem)' }],
    ['{"a": [1, 2}', { line: 1, column: 12, reason: "expected ',' or ']'; unexpected character \"}\" (a missing comma?)" }],
    ['{"a": 1', { line: 1, column: 8, reason: "expected ',' or '}'; the text ends too early (a missing comma?)" }],
    ['{"a": 1} x', { line: 1, column: 10, reason: 'unexpected text after the end of the JSON; unexpected character "x"' }],
  ])('locates the error in %j', (text, expected) => {
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(locateJsonError(text)).toEqual(expected);
  });

  it('finds nothing wrong in valid JSON', () => {
    expect(locateJsonError('{"a": [1, -2.5e3, true, null, "x\\n\\u00e9"], "b": {}}')).toBeUndefined();
  });
});

describe('duplicate keys', () => {
  const twoDefaults = [
    '{',
    '  "EntraId": {',
    '    "Default": { "TenantId": "622b1005-624a-457b-a148-566d50f3f1ff" },',
    '    "Default": { "TenantId": "722b1005-624a-457b-a148-566d50f3f1ff" }',
    '  }',
    '}',
  ].join('\n');

  it('finds a key written twice in one object, with its path and both places', () => {
    expect(findDuplicateKeys(twoDefaults)).toEqual([
      { path: 'EntraId.Default', positions: [{ line: 3, column: 5 }, { line: 4, column: 5 }] },
    ]);
  });

  it('compares keys as JSON.parse does (escapes decoded), inside arrays too, and leaves equal keys of sibling objects alone', () => {
    const text = '{"Mappings": [{"From": "a", "To": "b"}, {"From": "c", "\\u0046rom": "d", "To": "e", "From": "f"}], "x": {"From": 1}}';
    expect(findDuplicateKeys(text)).toEqual([
      { path: 'Mappings[1].From', positions: [{ line: 1, column: 42 }, { line: 1, column: 55 }, { line: 1, column: 84 }] },
    ]);
  });

  it('rejects a config with two "Default" blocks, naming the path and both lines, instead of keeping the last', async () => {
    // JSON.parse keeps the second block without a word: the reason for this check.
    expect(JSON.parse(twoDefaults)).toEqual({ EntraId: { Default: { TenantId: '722b1005-624a-457b-a148-566d50f3f1ff' } } });
    const error = await loadError({ CONNECTOR_CONFIG: twoDefaults });
    expect(error.issues).toEqual([
      {
        path: 'EntraId.Default',
        message:
          'is written twice in the same object (line 3, column 5 and line 4, column 5); JSON keeps only the last, so the others would be ignored ' +
          'without a word. Merge them into one, or give each its own name',
      },
    ]);
  });

  it('reports every repeated key in one pass, and a key written three times once', () => {
    const text = '{"a": 1, "a": 2, "b": {"c": 1, "c": 2}, "a": 3}';
    let error: unknown;
    try {
      parseConfigText(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => [issue.path, issue.message.slice(0, issue.message.indexOf(');') + 1)])).toEqual([
      ['a', 'is written 3 times in the same object (line 1, column 2; line 1, column 10 and line 1, column 41)'],
      ['b.c', 'is written twice in the same object (line 1, column 24 and line 1, column 32)'],
    ]);
  });

  it('finds none in JSON without repeats, and none in text that is not JSON (the syntax error is reported instead)', () => {
    expect(findDuplicateKeys('{"a": {"a": {"a": [{"a": 1}, {"a": 2}]}}}')).toEqual([]);
    expect(findDuplicateKeys('{"a": 1, "a": 2')).toEqual([]);
  });
});

describe('the one size limit of a configuration (5 MiB)', () => {
  it('refuses CONNECTOR_CONFIG over 5 MiB before parsing it', async () => {
    const error = await loadError({ CONNECTOR_CONFIG: `{"padding": "${'x'.repeat(5 * 1024 * 1024)}"}` });
    expect(error.issues).toEqual([
      {
        path: 'CONNECTOR_CONFIG',
        message:
          'the configuration at app setting CONNECTOR_CONFIG is 5.0 MiB; the limit is 5 MiB (a config.json is usually a few KiB). ' +
          'Check that this is config.json; list groups that hold the users rather than very many small groups',
      },
    ]);
  });

  it('reads a config of 4.4 MiB (over the old 4 MiB blob limit) from a file and inline alike', async () => {
    const groups = Array.from({ length: 120_000 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
    const text = JSON.stringify(config({ Mappings: [{ From: 'EntraId:Default', To: 'Signature365:Tenant1', LimitToGroups: groups }] }));
    expect(Buffer.byteLength(text)).toBeGreaterThan(4 * 1024 * 1024);
    expect(Buffer.byteLength(text)).toBeLessThan(5 * 1024 * 1024);
    const fromFile = await loadConfig({ CONFIG_PATH: writeConfig(text) });
    const inline = await loadConfig({ CONNECTOR_CONFIG: text });
    expect(fromFile.config.mappings[0]?.limitToGroups).toHaveLength(120_000);
    expect(inline.config.mappings[0]?.limitToGroups).toHaveLength(120_000);
  });
});
