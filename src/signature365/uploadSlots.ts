/**
 * At most N batch requests in flight to one destination from this process, whoever sends them:
 * the CLI's in-process uploads, `serve`'s queue readers and a Functions worker's concurrent queue
 * messages (host.json lets one instance run several at once) all go through the same slots. A
 * waiting request takes the next free slot in arrival order.
 */
export class UploadSlots {
  readonly limit: number;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`an upload slot limit must be a whole number of at least 1, got ${limit}`);
    this.limit = limit;
  }

  /** Requests running now (for tests and status). */
  get inFlight(): number {
    return this.#inFlight;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#inFlight >= this.limit) await new Promise<void>((resume) => this.#waiting.push(resume));
    else this.#inFlight += 1;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so the count never drops and rises in between.
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#inFlight -= 1;
    }
  }
}

const processSlots = new Map<string, UploadSlots>();

/**
 * The process-wide slots of one destination (by its name in config). A new limit replaces the
 * slots for requests that start later; those in flight finish under the old ones.
 */
export function uploadSlotsFor(destination: string, limit: number): UploadSlots {
  const existing = processSlots.get(destination);
  if (existing !== undefined && existing.limit === limit) return existing;
  const slots = new UploadSlots(limit);
  processSlots.set(destination, slots);
  return slots;
}
