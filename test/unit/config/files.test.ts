import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/jsonText';
import { resolveConfig } from '../../../src/config/resolve';
import { CONFIG_SCHEMA_PATH, renderConfigSchema } from '../../../scripts/write-config-schema';

const SAMPLE_PATH = resolve(__dirname, '../../../config.sample.json');

describe('committed config files', () => {
  it('config.schema.json equals the schema generated from src/config/schema.ts (run scripts/write-config-schema.ts)', () => {
    expect(readFileSync(CONFIG_SCHEMA_PATH, 'utf8')).toBe(renderConfigSchema());
  });

  it('config.sample.json is valid once its app settings are present', () => {
    const sample = parseConfigText(readFileSync(SAMPLE_PATH, 'utf8'));
    const env = { ENTRA_CLIENT_SECRET: 'placeholder-secret', S365_TOKEN_TENANT1: 'idscl_placeholder1', S365_TOKEN_TENANT2: 'idscl_placeholder2' };
    const resolved = resolveConfig(sample, env);
    expect(resolved.destinations.map((d) => d.name)).toEqual(['Tenant1', 'Tenant2']);
    expect(resolved.mappings).toHaveLength(2);
  });

  it('config.sample.json holds no secret, only app setting references', () => {
    const text = readFileSync(SAMPLE_PATH, 'utf8');
    expect(text).not.toContain('idscl_');
    expect(text.match(/"(ClientSecret|Token)": "[^"]*"/g)?.every((entry) => entry.includes('@AppSetting('))).toBe(true);
  });
});
