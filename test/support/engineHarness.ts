/**
 * The pull engine wired as in production, for engine tests: a generated tenant behind the fake
 * Graph (HTTPS), the real Graph reader, and the Table stores on the shared Azurite (own prefix).
 * Page and member-slice sizes are small so every round pages and splits groups.
 */
import { randomUUID } from 'node:crypto';
import { createGraphDirectoryReader, type GraphDirectoryReader } from '../../src/graph';
import { TableCursorStore, TableLockStore, TableMirrorStore } from '../../src/store';
import { TableChangeJournal } from '../../src/store/journalStore';
import type { StorageTarget } from '../../src/store/storageAccount';
import type { DeltaPage, DirectoryKind, GroupChange, UserChange } from '../../src/sync/directory';
import { silentLogger } from '../../src/sync/logger';
import type { DirectoryReader, LockStore, MirrorStore } from '../../src/sync/ports';
import { pullSource, type PullOptions, type PullSummary } from '../../src/sync/pullSource';
import { FakeTenant, startFakeGraph, type FakeGraph, type FaultSpec, type RequestRecord } from '../fakes/graph';
import { isolatedStorage } from './storage';

export const SOURCE = 'Default';
/** Deliberately not a divisor of the tenant sizes, so the last page is a short one. */
export const PAGE_SIZE = 37;
export const MEMBER_SLICE_SIZE = 7;

export interface EngineHarnessOptions {
  users?: number;
  groups?: number;
  seed?: number;
  pageSize?: number;
  memberSliceSize?: number;
  /** The fake Graph sends `"manager@delta": []` where the manager did not change or there is none. */
  emptyManagerDelta?: boolean;
}

/** `reader`, `mirror` and `locks` replace the harness's own, e.g. to play a second instance or inject a failure. */
export type HarnessPullOptions = Partial<Omit<PullOptions, 'fullReconcileHours'>> & { reader?: DirectoryReader; mirror?: MirrorStore; locks?: LockStore };

export interface EngineHarness {
  readonly graph: FakeGraph;
  readonly tenant: FakeTenant;
  readonly storage: StorageTarget;
  readonly mirror: TableMirrorStore;
  readonly cursors: TableCursorStore;
  readonly locks: TableLockStore;
  readonly journal: TableChangeJournal;
  /** A fresh Graph reader (a new process would build one). */
  reader(): GraphDirectoryReader;
  /** pullSource of SOURCE with a fresh reader unless one is given; reconcile every 24 h; one page per batch unless asked. */
  pull(options?: HarnessPullOptions): Promise<PullSummary>;
  close(): Promise<void>;
}

export async function startEngineHarness(options: EngineHarnessOptions = {}): Promise<EngineHarness> {
  const tenant = new FakeTenant({ seed: options.seed ?? 7 });
  tenant.generate({ users: options.users ?? 300, groups: options.groups ?? 40, nestingDepth: 3, seed: options.seed ?? 7 });
  const graph = await startFakeGraph({ tenant, clientSecret: `secret-${randomUUID()}`, memberSliceSize: options.memberSliceSize ?? MEMBER_SLICE_SIZE,
    ...(options.emptyManagerDelta !== undefined ? { emptyManagerDelta: options.emptyManagerDelta } : {}),
  });
  const storage = isolatedStorage();
  const mirror = new TableMirrorStore(storage);
  const cursors = new TableCursorStore(storage);
  const locks = new TableLockStore(storage);
  const journal = new TableChangeJournal(storage);
  await Promise.all([mirror.initialize(), cursors.initialize(), locks.initialize(), journal.initialize()]);
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const reader = () => createGraphDirectoryReader(graph.sourceConfig(undefined, SOURCE), { pageSize, maxRetries: 3 });
  return {
    graph, tenant, storage, mirror, cursors, locks, journal, reader,
    pull: ({ reader: givenReader, mirror: givenMirror, locks: givenLocks, ...pullOptions } = {}) =>
      pullSource(SOURCE, { reader: givenReader ?? reader(), mirror: givenMirror ?? mirror, cursors, journal, locks: givenLocks ?? locks, logger: silentLogger }, {
        fullReconcileHours: 24,
        holder: `test:${randomUUID()}`,
        batchObjects: 1,
        fillTransactions: false,
        ...pullOptions,
      }),
    close: () => graph.close(),
  };
}

export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

export interface CrashingReader extends DirectoryReader {
  /** The nextLink of the last page handed out before the crash. */
  lastNextLink(): string | undefined;
}

/**
 * A reader that hands out `pages` pages of the `kind` round and then throws, as a process dying
 * between pages would stop: the page after is never requested.
 */
export function crashAfterPages(inner: DirectoryReader, kind: DirectoryKind, pages: number): CrashingReader {
  let lastNextLink: string | undefined;
  async function* limited<T>(source: AsyncIterable<DeltaPage<T>>): AsyncGenerator<DeltaPage<T>> {
    let handedOut = 0;
    for await (const page of source) {
      yield page;
      handedOut += 1;
      lastNextLink = page.nextLink;
      if (handedOut >= pages) throw new SimulatedCrash(`simulated crash after ${kind} page ${handedOut}`);
    }
  }
  return {
    ...(inner.userSelection !== undefined ? { userSelection: inner.userSelection } : {}),
    readUsers: (link, options) => (kind === 'users' ? limited<UserChange>(inner.readUsers(link, options)) : inner.readUsers(link, options)),
    readGroups: (link, options) => (kind === 'groups' ? limited<GroupChange>(inner.readGroups(link, options)) : inner.readGroups(link, options)),
    lastNextLink: () => lastNextLink,
  };
}

export class SimulatedStorageFailure extends Error {
  override readonly name = 'SimulatedStorageFailure';
}

/** A mirror whose `n`-th (1-based) write of a users batch fails, as a storage outage mid-round would. */
export function failingUserWrite(inner: MirrorStore, n: number): MirrorStore {
  let writes = 0;
  // A prototype-backed class instance: bind each method rather than spreading it.
  return {
    initialize: () => inner.initialize(),
    loadFingerprints: (source, kind) => inner.loadFingerprints(source, kind),
    prepareUserChanges: async (source, changes, options) => {
      const prepared = await inner.prepareUserChanges(source, changes, options);
      return {
        ...prepared,
        commit: async (commitOptions) => {
          writes += 1;
          if (writes === n) throw new SimulatedStorageFailure(`simulated storage failure on users batch ${n}`);
          return prepared.commit(commitOptions);
        },
      };
    },
    prepareGroupChanges: (source, changes, options) => inner.prepareGroupChanges(source, changes, options),
    prepareSweep: (source, kind, ids, fingerprints) => inner.prepareSweep(source, kind, ids, fingerprints),
    purgeRemoved: (source, kind, before) => inner.purgeRemoved(source, kind, before),
    loadMembers: (source) => inner.loadMembers(source),
    readMembers: (source, groupIds) => inner.readMembers(source, groupIds),
    writeMembers: (source, updates) => inner.writeMembers(source, updates),
    listUsers: (source, options) => inner.listUsers(source, options),
    listGroups: (source, options) => inner.listGroups(source, options),
    getUsers: (source, ids) => inner.getUsers(source, ids),
    findUserIdsByKey: (source, key) => inner.findUserIdsByKey(source, key),
    putMailboxTypes: (source, types) => inner.putMailboxTypes(source, types),
    groupUserIdsForReading: (source, ids) => inner.groupUserIdsForReading(source, ids),
    getGroups: (source, ids) => inner.getGroups(source, ids),
    listMembers: (source, groupId) => inner.listMembers(source, groupId),
    listEdges: (source) => inner.listEdges(source),
  };
}

/** Queues `fault` for the n-th (1-based) next request to `target`; the ones before it are served normally. */
export function faultOnRequest(graph: FakeGraph, target: 'users' | 'groups', n: number, fault: Omit<FaultSpec, 'target' | 'path' | 'times'>): void {
  if (n > 1) graph.faults.add({ target, times: n - 1 });
  graph.faults.add({ target, ...fault });
}

/** Delta requests to `target` logged after `mark` (an index into graph.requests). */
export function deltaRequestsSince(graph: FakeGraph, mark: number, target: 'users' | 'groups'): RequestRecord[] {
  return graph.requests.slice(mark).filter((request) => request.target === target);
}

/** The $skiptoken of a nextLink, to compare a saved link with a logged request. */
export function skipTokenOf(link: string | null | undefined): string | null {
  if (link === null || link === undefined) return null;
  return new URL(link).searchParams.get('$skiptoken');
}
