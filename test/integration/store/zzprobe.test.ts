import { randomUUID } from 'node:crypto';
import { it } from 'vitest';
import { TableLedgerStore } from '../../../src/store/ledgerStore';
import { summarizeEntries } from '../../../src/sync/ledgerPolicy';
import { isolatedStorage } from '../../support/storage';

it('probe', async () => {
  const log: string[] = [];
  const store = new TableLedgerStore(isolatedStorage(), { additionalPolicies: [{ name: 'p', async sendRequest(req, next) { log.push(`> ${req.method} ${req.headers.get('If-Match') ?? ''}`); const res = await next(req); log.push(`< ${req.method} ${res.status} ${res.bodyAsText?.match(/HTTP\/1.1 \d+/g)?.join(',') ?? ''}`); return res; } }] });
  await store.initialize();
  const id = () => `9d${randomUUID().slice(2)}`;
  const s = (e: ReadonlyMap<string, object>) => summarizeEntries(e, 30);
  await store.update({ destination: 'd', source: 's', kind: 'users' }, ['9d'], (_b, e) => { e.set(id(), { w: 1 }); }, s);
  for (let i = 0; i < 5; i++) {
    log.length = 0;
    await Promise.all([0, 1].map(() => store.update({ destination: 'd', source: 's', kind: 'users' }, ['9d'], (_b, e) => { e.set(id(), { w: 1 }); }, s)));
    const r = await store.read({ destination: 'd', source: 's', kind: 'users' }, ['9d']);
    console.log(log.join('\n'), r.buckets.get('9d')?.size);
  }
});
