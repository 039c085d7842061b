/**
 * Regenerates config.schema.json from the zod schema in src/config/schema.ts:
 *   npx tsx scripts/write-config-schema.ts
 * test/unit/config/files.test.ts fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildConfigJsonSchema } from '../src/config/schema';

export const CONFIG_SCHEMA_PATH = resolve(__dirname, '..', 'config.schema.json');

export function renderConfigSchema(): string {
  return `${JSON.stringify(buildConfigJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(CONFIG_SCHEMA_PATH, renderConfigSchema());
  console.log(`wrote ${CONFIG_SCHEMA_PATH}`);
}
