/**
 * Failpoints: named places in the engine where a fault test can make the process crash for real.
 *
 * TEST-ONLY, and inert unless the environment variable S365_FAILPOINTS is set. A run of the
 * connector never sets it; when it is absent or empty, `failpoint()` returns at once.
 *
 * S365_FAILPOINTS is a comma-separated list of names, each optionally `name@N` (crash on the
 * N-th time this process reaches that place; without @N, on the first). When a listed failpoint
 * is hit, the process sends itself SIGKILL: no catch, no finally, no lock release, no flush, the
 * same as a power cut or an OOM kill, so the tests see exactly what a real crash leaves behind
 * (see docs/reliability.md, "Fault tests").
 *
 * The places:
 * - afterMirrorWrite: pullSource, a batch's objects are in the mirror, its last nextLink not yet saved;
 * - afterCursorSave: pullSource, a round's deltaLink is saved (users first, then groups), nothing
 *   planned or dispatched after it yet;
 * - afterUploadBeforeAck: the in-process executor or the upload worker, the destination answered a
 *   batch, the ledger does not yet record the acknowledged hashes;
 * - afterReconcileLedgerWrite: the reconcile against a destination corrected the ledger, nothing
 *   planned after it yet.
 * - afterQueueMarkBeforeSend: the queue executor, a destination's ledger entries are marked queued,
 *   none of their upload messages is sent yet.
 */

export const FAILPOINT_NAMES = ['afterMirrorWrite', 'afterCursorSave', 'afterUploadBeforeAck', 'afterReconcileLedgerWrite', 'afterQueueMarkBeforeSend'] as const;
export type FailpointName = (typeof FAILPOINT_NAMES)[number];

export const FAILPOINTS_SETTING = 'S365_FAILPOINTS';

/** Name → the hit that crashes (1-based). */
export type FailpointPlan = ReadonlyMap<FailpointName, number>;

/**
 * Reads a S365_FAILPOINTS value. Unknown names and malformed counts throw: a fault test that
 * misspells a failpoint must fail loudly, not pass because nothing crashed.
 */
export function parseFailpoints(setting: string | undefined): FailpointPlan {
  const plan = new Map<FailpointName, number>();
  if (setting === undefined) return plan;
  for (const entry of setting.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^([A-Za-z]+)(?:@(\d+))?$/.exec(entry);
    const name = FAILPOINT_NAMES.find((known) => known === match?.[1]);
    const hit = Number(match?.[2] ?? '1');
    if (match === null || name === undefined || !Number.isInteger(hit) || hit < 1) {
      throw new Error(`${FAILPOINTS_SETTING}: "${entry}" is not one of ${FAILPOINT_NAMES.join(', ')} (optionally name@N, N >= 1)`);
    }
    plan.set(name, hit);
  }
  return plan;
}

const hits = new Map<FailpointName, number>();
let parsed: { setting: string; plan: FailpointPlan } | undefined;

/** Crashes the process (SIGKILL to itself) when S365_FAILPOINTS arms `name` for this hit; otherwise does nothing. */
export function failpoint(name: FailpointName): void {
  const setting = process.env[FAILPOINTS_SETTING];
  if (setting === undefined || setting === '') return;
  if (parsed?.setting !== setting) parsed = { setting, plan: parseFailpoints(setting) };
  const armedAt = parsed.plan.get(name);
  if (armedAt === undefined) return;
  const hit = (hits.get(name) ?? 0) + 1;
  hits.set(name, hit);
  if (hit === armedAt) {
    process.stderr.write(`failpoint ${name}@${hit}: SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
