/**
 * `npm run demo`: the whole pipeline on one machine with nothing configured. An in-memory Azurite,
 * the simulated Entra tenant (test/fakes/graph) and two simulated Signature 365 tenants
 * (test/fakes/signature365) on loopback HTTPS; a full sync, a few directory changes, an
 * incremental sync, and a check that each tenant holds exactly who it should.
 *
 * The demo lives outside src/ because it is built from the test fakes and their test CA: it runs
 * from a clone through tsx (demo/main.ts) and is never compiled into dist/ or deployed.
 */
import { randomBytes } from 'node:crypto';
import { resolveConfig } from '../src/config/resolve';
import { startFakeGraph } from '../test/fakes/graph';
import { startFakeSignature365, type FakeSignature365 } from '../test/fakes/signature365';
import { startEmbeddedAzurite } from '../src/setup/embeddedAzurite';
import { createLogger, parseLogLevel } from '../src/setup/logging';
import { createRuntime } from '../src/setup/runtime';
import { configSecrets } from '../src/config/mask';
import { processScrubber } from '../src/setup/secretScrubber';
import { buildDemoOrganisation, expectedMembers } from './demoScenario';
import { checkMailDomains, formatMailDomainCheck } from '../src/cli/statusCommand';
import { formatSyncSummary } from '../src/cli/report';
import { syncOnce, type CliIo } from '../src/cli/syncCommand';
import { rerunTrustingTestCa } from '../test/fakes/trustTestCa';

const DESTINATIONS = { sales: 'ContosoSales', engineering: 'ContosoEngineering' } as const;

function heading(io: CliIo, text: string): void {
  io.out(`\n== ${text} ==\n`);
}

function describeRound(io: CliIo, s365: FakeSignature365, since: number, sourceId: string): void {
  for (const name of Object.values(DESTINATIONS)) {
    const batches = s365.requests.slice(since).filter((r) => r.tenant === name && r.method === 'POST');
    const users = batches.filter((r) => r.path.endsWith('/users/batch'));
    const groups = batches.filter((r) => r.path.endsWith('/groups/batch'));
    const sum = (list: typeof batches, key: 'upserts' | 'deletes') => list.reduce((n, r) => n + r[key], 0);
    io.out(
      `  ${name}: ${users.length} user batch(es) (${sum(users, 'upserts')} upserts, ${sum(users, 'deletes')} deletes), ` +
        `${groups.length} group batch(es) (${sum(groups, 'upserts')} upserts); now holds ${s365.tenant(name).users(sourceId).length} users, ` +
        `${s365.tenant(name).groups(sourceId).length} groups\n`,
    );
  }
}

export async function runDemo(options: { users: number }, io: CliIo): Promise<number> {
  const rerun = rerunTrustingTestCa(io.env);
  if (rerun !== undefined) return rerun;

  const org = buildDemoOrganisation(options.users);
  // Every permission granted, the optional ones too: the demo shows extensions, the domain report and mailbox types.
  const graph = await startFakeGraph({
    tenant: org.tenant, clientSecret: `demo-secret-${randomBytes(12).toString('hex')}`,
    permissions: ['User.Read.All', 'GroupMember.Read.All', 'Group.Read.All', 'Application.Read.All', 'Domain.Read.All', 'MailboxSettings.Read'],
  });
  const tokens = { sales: `idscl_${randomBytes(24).toString('base64url')}`, engineering: `idscl_${randomBytes(24).toString('base64url')}` };
  const s365 = await startFakeSignature365({
    tenants: [
      { name: DESTINATIONS.sales, token: tokens.sales, tenantId: '5a1e5000-0000-4000-8000-000000000001' },
      { name: DESTINATIONS.engineering, token: tokens.engineering, tenantId: '5a1e5000-0000-4000-8000-000000000002' },
    ],
  });
  const azurite = await startEmbeddedAzurite();
  const source = graph.sourceConfig();
  const clientSecret = source.auth.kind === 'clientSecret' ? source.auth.clientSecret : '';
  // The config an administrator would write, pointed at the simulated services the way a
  // national-cloud user points at theirs (AuthorityHost + GraphEndpoint, Endpoint).
  const rawConfig = {
    EntraId: {
      Default: {
        TenantId: graph.tenantId, ClientId: graph.clientId, ClientSecret: clientSecret, AuthorityHost: graph.authorityHost, GraphEndpoint: graph.graphEndpoint,
        ExtensionProperties: [org.extensions.costCenter, org.extensions.pronoun],
      },
    },
    Signature365: {
      [DESTINATIONS.sales]: { Token: tokens.sales, Endpoint: s365.endpoint },
      [DESTINATIONS.engineering]: { Token: tokens.engineering, Endpoint: s365.endpoint },
    },
    Mappings: [
      { From: 'EntraId:Default', To: `Signature365:${DESTINATIONS.sales}`, LimitToGroups: [org.groups.allSales] },
      { From: 'EntraId:Default', To: `Signature365:${DESTINATIONS.engineering}`, LimitToGroups: [org.groups.allEngineering] },
    ],
    // The demo deletes at once so the change shows; a deployment keeps the 7-day grace period.
    Options: { DeleteAfterDays: 0 },
  };
  const config = resolveConfig(rawConfig, io.env);
  processScrubber.register(...configSecrets(config));
  const logger = createLogger({ level: parseLogLevel(io.env.LOG_LEVEL ?? 'warn') });
  const runtime = await createRuntime({
    config, logger, env: io.env,
    storage: { kind: 'connectionString', connectionString: azurite.connectionString, prefix: 'demo' },
  });
  try {
    heading(io, `Simulated Entra tenant: ${org.tenant.activeUsers().length} users, ${org.tenant.activeGroups().length} groups (Sales and Engineering nested 3 deep)`);
    io.out(`  Mappings: All Sales -> ${DESTINATIONS.sales}, All Engineering -> ${DESTINATIONS.engineering}\n`);
    io.out(`  ExtensionProperties: ${org.extensions.costCenter}, ${org.extensions.pronoun} (directory extensions of "Contoso HR attributes")\n`);

    heading(io, 'Run 1: full sync');
    let mark = s365.requests.length;
    const first = await syncOnce(runtime, { logger, progressStream: io.progressStream });
    io.out(`${processScrubber.scrub(formatSyncSummary(first.summary, first.uploads, { graph: runtime.readerFor('Default').stats().requests }))}\n`);
    describeRound(io, s365, mark, source.tenantId);
    const extensionCounts = (name: string) => {
      const held = s365.tenant(name).users(source.tenantId);
      const carrying = (key: string) => held.filter((user) => typeof (user.extensionAttributes as Record<string, unknown>)[key] === 'string').length;
      return `${carrying(org.extensions.costCenter)} of ${held.length} records carry costCenter, ${carrying(org.extensions.pronoun)} pronoun`;
    };
    for (const name of Object.values(DESTINATIONS)) io.out(`  ${name}: ${extensionCounts(name)} (under extensionAttributes)\n`);
    const salesHeld = s365.tenant(DESTINATIONS.sales);
    const mailboxTypes = [['Sales UK inbox', org.mailboxes.shared, 'shared'], ['Meeting room London 4.01', org.mailboxes.room, 'room']] as const;
    for (const [name, id, wanted] of mailboxTypes) {
      const held = salesHeld.user(source.tenantId, id)?.mailboxType;
      io.out(`  ${DESTINATIONS.sales}: ${name} has mailboxType ${String(held)} -> ${held === wanted ? 'OK' : `MISMATCH (expected ${wanted})`}\n`);
    }
    const mailboxTypesArrived = mailboxTypes.every(([, id, wanted]) => salesHeld.user(source.tenantId, id)?.mailboxType === wanted);

    heading(io, 'Changes in Entra ID');
    // Index 1, not 0: the first member of each group is its manager, and the story is clearer without cascades.
    const titleChanged = org.salesUkMembers[1];
    const leaver = org.sreMembers[1];
    const deleted = org.salesAmericasMembers[1];
    const joiner = org.outsiders.find((id) => {
      const user = org.tenant.getUser(id);
      return user !== undefined && user.accountEnabled && user.userType === 'Member';
    });
    if (titleChanged === undefined || leaver === undefined || deleted === undefined || joiner === undefined) {
      throw new Error('The demo organisation is too small for the scripted changes; run with --users 200 or more');
    }
    org.tenant.updateUser(titleChanged, { jobTitle: 'Senior Account Executive', directoryExtensions: { [org.extensions.costCenter]: 'CC-SALES-900' } });
    io.out(`  ${org.tenant.getUser(titleChanged)?.userPrincipalName ?? titleChanged}: job title -> Senior Account Executive, costCenter -> CC-SALES-900\n`);
    org.tenant.removeMember(org.groups.platformSre, leaver);
    io.out(`  ${org.tenant.getUser(leaver)?.userPrincipalName ?? leaver}: removed from Platform SRE (leaves Engineering)\n`);
    const deletedUpn = org.tenant.getUser(deleted)?.userPrincipalName ?? deleted;
    org.tenant.hardDeleteUser(deleted);
    io.out(`  ${deletedUpn}: deleted\n`);
    org.tenant.addMember(org.groups.salesUk, joiner);
    io.out(`  ${org.tenant.getUser(joiner)?.userPrincipalName ?? joiner}: added to Sales UK (nested in Sales EMEA, in All Sales)\n`);

    heading(io, 'Run 2: incremental sync');
    mark = s365.requests.length;
    const graphBefore = runtime.readerFor('Default').stats().requests;
    const second = await syncOnce(runtime, { logger, progressStream: io.progressStream });
    io.out(`${processScrubber.scrub(formatSyncSummary(second.summary, second.uploads, { graph: runtime.readerFor('Default').stats().requests - graphBefore }))}\n`);
    describeRound(io, s365, mark, source.tenantId);
    const sales = s365.tenant(DESTINATIONS.sales);
    const promoted = sales.user(source.tenantId, titleChanged);
    const promotedCostCenter = (promoted?.extensionAttributes as Record<string, unknown> | undefined)?.[org.extensions.costCenter];
    io.out(`  ${DESTINATIONS.sales} now shows ${String(promoted?.jobTitle)}, costCenter ${String(promotedCostCenter)} for the promoted user\n`);

    heading(io, `Mail domains: ${org.unverifiedDomain} is in the tenant but not verified`);
    io.out(`${processScrubber.scrub(formatMailDomainCheck(await checkMailDomains(runtime, config, source)))}\n`);

    heading(io, 'Check: each tenant holds exactly the transitive, filtered members of its groups');
    let ok = true;
    for (const [name, root] of [[DESTINATIONS.sales, org.groups.allSales], [DESTINATIONS.engineering, org.groups.allEngineering]] as const) {
      const expected = expectedMembers(org.tenant, root);
      const held = new Set(s365.tenant(name).users(source.tenantId).map((u) => u.id));
      const missing = [...expected].filter((id) => !held.has(id));
      const extra = [...held].filter((id) => !expected.has(id));
      const match = missing.length === 0 && extra.length === 0;
      ok &&= match;
      io.out(`  ${name}: expected ${expected.size}, holds ${held.size} -> ${match ? 'OK' : `MISMATCH (${missing.length} missing, ${extra.length} extra)`}\n`);
    }
    return ok && mailboxTypesArrived && first.summary.failures.length === 0 && second.summary.failures.length === 0 ? 0 : 1;
  } finally {
    await runtime.close();
    await Promise.all([graph.close(), s365.close(), azurite.stop()]);
  }
}
