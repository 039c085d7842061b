/**
 * The body of an admin HTTP request (deletions approve, pause/resume): JSON checked against its
 * schema, or a 400 message that names each field in error, or says what to send.
 */
import type { z } from 'zod';

export function parseAdminBody<T>(text: string, schema: z.ZodType<T>, expected: string): { ok: true; data: T } | { ok: false; error: string } {
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    return { ok: false, error: `the body is not JSON; send ${expected}` };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ') };
  return { ok: true, data: parsed.data };
}
