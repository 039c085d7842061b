import { describe, expect, it } from 'vitest';
import { createTableClient } from '../../src/store/storageAccount';
import { isolatedStorage } from '../support/storage';

describe('test storage', () => {
  it('reaches the shared Azurite', async () => {
    const table = createTableClient(isolatedStorage(), 'Smoke');
    await table.createTable();
    await table.upsertEntity({ partitionKey: 'p', rowKey: 'r', value: 42 });
    expect((await table.getEntity<{ value: number }>('p', 'r')).value).toBe(42);
  });
});
