import { expect } from 'vitest';
import { ConfigError, type ConfigIssue } from '../../../src/config/errors';
import { resolveConfig, type ResolveOptions } from '../../../src/config/resolve';

/** Builders for raw config.json content: each returns a valid part, overridden by what a case cares about. */
export const TENANT_ID = '8b9c1f2e-3d4a-4b5c-9d6e-7f8091a2b3c4';
export const CLIENT_ID = '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f70819';
export const GROUP_ID = '622b1005-624a-457b-a148-566d50f3f1ff';
export const CLIENT_SECRET = 'AbC8Q~k3jd9sLq0vX_pe.RtYuIoP1aS2dF3gH4jK';
export const TOKEN = 'idscl_ZxR4mQ8tLk2vN7pB3cW9yH5gJ1fD6sA0eU4iO8KZTn0KU';

type Json = Record<string, unknown>;

export function source(overrides: Json = {}): Json {
  return { TenantId: TENANT_ID, ClientId: CLIENT_ID, ClientSecret: CLIENT_SECRET, ...overrides };
}

export function destination(overrides: Json = {}): Json {
  return { Token: TOKEN, ...overrides };
}

export function mapping(overrides: Json = {}): Json {
  return { From: 'EntraId:Default', To: 'Signature365:Tenant1', LimitToGroups: [GROUP_ID], ...overrides };
}

export function config(parts: { EntraId?: Json; Signature365?: Json; Mappings?: unknown[]; Options?: Json } = {}): Json {
  const raw: Json = {
    EntraId: parts.EntraId ?? { Default: source() },
    Signature365: parts.Signature365 ?? { Tenant1: destination() },
    Mappings: parts.Mappings ?? [mapping()],
  };
  if (parts.Options !== undefined) raw.Options = parts.Options;
  return raw;
}

/** The problems resolveConfig reports for `raw`; fails the test if it resolves. */
export function issuesOf(raw: unknown, env: NodeJS.ProcessEnv = {}, options: ResolveOptions = {}): ConfigIssue[] {
  return errorOf(raw, env, options).issues.map((issue) => ({ ...issue }));
}

export function errorOf(raw: unknown, env: NodeJS.ProcessEnv = {}, options: ResolveOptions = {}): ConfigError {
  try {
    resolveConfig(raw, env, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected resolveConfig to throw a ConfigError');
}
