/**
 * Keeps a held lock's lease fresh from a timer while the work it guards runs, however long one
 * step of that work takes (a Graph page that takes minutes, a whole-source plan, a slow storage
 * call): renewing only between steps let a single slow step outlive the lease and a second
 * instance take the source over.
 *
 * The timer renews every fifth of the lease (every minute for the 5-minute lease), so a renewal
 * that fails on a storage hiccup has four more chances before the lease runs out. When a renewal
 * finds the lease taken over, the keeper remembers it and `assertHeld()` throws LockLostError at
 * the work's next checkpoint; the cursor writes are fenced besides (cursorStore.ts), so even work
 * that has not reached a checkpoint cannot move the cursor back.
 */
import type { HeldLock } from './ports';

/** The error a store throws when a lease was taken over (src/store/errors.ts); matched by name, like other adapter errors. */
export function isLockLost(error: unknown): boolean {
  return error instanceof Error && error.name === 'LockLostError';
}

export interface LeaseKeeper {
  readonly lock: HeldLock;
  /** Throws the LockLostError a renewal met, if any: call it between steps. */
  assertHeld(): void;
  /** Stops the timer and waits for a renewal in flight (call before releasing the lock). */
  stop(): Promise<void>;
}

export interface LeaseKeeperOptions {
  ttlInMs: number;
  /** A renewal failed for another reason than a takeover (it is tried again at the next tick). */
  onRenewFailed?: (error: unknown) => void;
  /** The lease was found taken over. */
  onLost?: (error: unknown) => void;
}

export function keepLeaseFresh(lock: HeldLock, options: LeaseKeeperOptions): LeaseKeeper {
  let lost: Error | undefined;
  let inFlight: Promise<void> | undefined;
  const tick = () => {
    if (lost !== undefined || inFlight !== undefined) return;
    inFlight = lock.renew().then(
      () => undefined,
      (error: unknown) => {
        if (isLockLost(error) && error instanceof Error) {
          lost = error;
          clearInterval(timer);
          options.onLost?.(error);
        } else {
          options.onRenewFailed?.(error);
        }
      },
    ).finally(() => { inFlight = undefined; });
  };
  const timer = setInterval(tick, Math.max(Math.floor(options.ttlInMs / 5), 50));
  // The timer alone must not keep a process alive (a CLI run ends when its work does).
  timer.unref();
  return {
    lock,
    assertHeld() {
      if (lost !== undefined) throw lost;
    },
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
