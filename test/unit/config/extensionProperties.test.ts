import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve';
import { config, issuesOf, source } from './builders';

const NAME = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_costCenter';

function withExtensions(names: unknown) {
  return config({ EntraId: { Default: source({ ExtensionProperties: names }) } });
}

describe('EntraId.<Name>.ExtensionProperties', () => {
  it('resolves to the source\'s extensionProperties, and to none when absent', () => {
    const resolved = resolveConfig(withExtensions([NAME, 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_pronoun']), {});
    expect(resolved.sources[0]?.extensionProperties).toEqual([NAME, 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_pronoun']);
    expect(resolveConfig(config(), {}).sources[0]?.extensionProperties).toBeUndefined();
  });

  it('shows the name without dashes when the application id was written with them', () => {
    expect(issuesOf(withExtensions(['extension_B7D8E648-520F-41D3-B9C0-FDEB91768A0A_costCenter']))).toEqual([
      { path: 'EntraId.Default.ExtensionProperties[0]', message: `"extension_B7D8E648-520F-41D3-B9C0-FDEB91768A0A_costCenter": write the application id without dashes, in lower case: "${NAME}"` },
    ]);
  });

  it('says that extensionAttribute1..15 are always read', () => {
    expect(issuesOf(withExtensions(['extensionAttribute3']))[0]?.message).toContain('is an on-premises extension attribute, which is always read');
  });

  it('names the form and the discovery command for anything else, and refuses a name listed twice', () => {
    const [issue] = issuesOf(withExtensions(['costCenter']));
    expect(issue?.path).toBe('EntraId.Default.ExtensionProperties[0]');
    expect(issue?.message).toContain('write "extension_<application id without dashes>_<name>"');
    expect(issue?.message).toContain('s365-connector extensions list');
    expect(issuesOf(withExtensions([NAME, NAME]))).toEqual([
      { path: 'EntraId.Default.ExtensionProperties', message: 'lists a name twice; list each extension property once' },
    ]);
  });

  it('refuses a name longer than the mirror\'s column allows', () => {
    expect(issuesOf(withExtensions([`extension_b7d8e648520f41d3b9c0fdeb91768a0a_${'x'.repeat(160)}`]))[0]?.message).toContain('longer than 200 characters');
  });
});
