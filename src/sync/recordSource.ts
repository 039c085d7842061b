/**
 * Where a whole-source plan gets the records it sends: it keeps no record JSON while it plans (a
 * 100k-user first sync would otherwise hold 100k records), and reads the users it sends again, one
 * storage partition at a time, as the executor asks for them. The executor sends in id order, so
 * each partition is read once and only one partition's users are held at a time.
 */
import type { MirrorUser } from './directory';
import type { MirrorStore } from './ports';

/** A reader of the users with the given ids; each is handed out once. */
export function windowedUsers(mirror: Pick<MirrorStore, 'getUsers' | 'groupUserIdsForReading'>, source: string, ids: readonly string[]): (id: string) => Promise<MirrorUser | undefined> {
  const windows = mirror.groupUserIdsForReading(source, ids);
  const windowOf = new Map<string, string[]>();
  for (const window of windows) for (const id of window) windowOf.set(id, window);
  const cache = new Map<string, MirrorUser>();
  const loaded = new Set<string[]>();
  let loading: Promise<void> | undefined;
  return async (id) => {
    const window = windowOf.get(id);
    if (window === undefined) return (await mirror.getUsers(source, [id])).get(id);
    while (!loaded.has(window)) {
      if (loading === undefined) {
        loading = mirror.getUsers(source, window)
          .then((users) => {
            for (const [userId, user] of users) cache.set(userId, user);
            loaded.add(window);
          })
          .finally(() => { loading = undefined; });
      }
      await loading;
    }
    const user = cache.get(id);
    cache.delete(id);
    return user;
  };
}
