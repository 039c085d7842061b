import { z } from 'zod';

const syncNowBody = z.object({
  full: z.boolean().optional(),
  // The name as written under EntraId (or its storage key); the caller looks it up in the config.
  source: z.string().min(1).max(64, 'must be a source name under EntraId (at most 64 characters)').optional(),
}).strict();

export type SyncNowRequest = { full: boolean; source?: string };

/** The body of POST /api/sync-now: empty, or `{"full": true, "source": "Default"}`. Errors name the field. */
export function parseSyncNowRequest(text: string): { ok: true; value: SyncNowRequest } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: true, value: { full: false } };
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    return { ok: false, error: 'body: not JSON; send nothing, or {"full": true, "source": "<EntraId name>"}' };
  }
  const parsed = syncNowBody.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    return { ok: false, error: `${path === '' ? 'body' : path}: ${issue?.message ?? 'invalid'}; allowed fields: full (boolean), source (string)` };
  }
  return { ok: true, value: { full: parsed.data.full ?? false, ...(parsed.data.source !== undefined ? { source: parsed.data.source } : {}) } };
}
