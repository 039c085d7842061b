import { describe, expect, it } from 'vitest';
import { UploadSlots, uploadSlotsFor } from '../../../src/signature365/uploadSlots';

/** A task the test finishes by hand, so the interleaving is decided here and not by timers. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const promise = new Promise<void>((resolve) => { open = resolve; });
  return { promise, open };
}

describe('UploadSlots', () => {
  it('never runs more than its limit at once, and starts waiters in arrival order as slots free', async () => {
    const slots = new UploadSlots(2);
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const runs = gates.map((g, i) => slots.run(async () => {
      started.push(i);
      running += 1;
      most = Math.max(most, running);
      await g.promise;
      running -= 1;
      return i;
    }));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    gates[1]?.open();
    await runs[1];
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
    expect(slots.inFlight).toBe(0);
  });

  it('frees the slot when the work fails', async () => {
    const slots = new UploadSlots(1);
    await expect(slots.run(() => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(await slots.run(() => Promise.resolve('next'))).toBe('next');
    expect(slots.inFlight).toBe(0);
  });

  it('shares one set of slots per destination name in the process, and refuses a limit below 1', () => {
    expect(uploadSlotsFor('Shared', 3)).toBe(uploadSlotsFor('Shared', 3));
    expect(uploadSlotsFor('Shared', 4).limit).toBe(4);
    expect(() => new UploadSlots(0)).toThrow(/at least 1/);
  });
});
