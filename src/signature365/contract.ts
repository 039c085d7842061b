/**
 * The wire format of the Signature 365 directory import API, as fixed by the project's contract
 * (docs/signature365-contract.md; docs/signature365-client.md explains the client).
 *
 * This module (src/signature365/) is the ONLY place in the connector that knows this format.
 * Symprex does not publish the API behind its Entra ID connector; if the vendor's real wire format
 * differs, this folder and the contract change and nothing else does: the engine sees only the
 * DestinationClient interface and these record types.
 */
import { z } from 'zod';

/** Paths relative to the destination's Endpoint. */
export const DIRECTORY_API_PATHS = {
  connection: '/api/directory/v1/connection',
  usersBatch: '/api/directory/v1/users/batch',
  groupsBatch: '/api/directory/v1/groups/batch',
  users: '/api/directory/v1/users',
  groups: '/api/directory/v1/groups',
} as const;

/** A batch holds at most this many upserts and deletes together. */
export const MAX_BATCH_ITEMS = 100;
/** ... and at most this many bytes of JSON (1 MiB). */
export const MAX_BATCH_BYTES = 1024 * 1024;

export type MailboxType = 'user' | 'shared' | 'room' | 'equipment' | 'unknown';

export type Signature365Manager = {
  id: string;
  displayName: string | null;
  mail: string | null;
};

/**
 * A user as Signature 365 holds it. Every property is always present: absent values are null
 * (lists []), never omitted, so an upsert fully replaces the record at the destination.
 */
export type Signature365User = {
  /** The Entra object id. */
  id: string;
  userPrincipalName: string | null;
  mail: string | null;
  displayName: string | null;
  givenName: string | null;
  surname: string | null;
  jobTitle: string | null;
  department: string | null;
  companyName: string | null;
  officeLocation: string | null;
  streetAddress: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
  businessPhones: string[];
  mobilePhone: string | null;
  faxNumber: string | null;
  employeeId: string | null;
  accountEnabled: boolean | null;
  userType: string | null;
  proxyAddresses: string[];
  manager: Signature365Manager | null;
  mailboxType: MailboxType;
  /** extensionAttribute1..15 and directory extensions (extension_<appid>_name). */
  extensionAttributes: Record<string, string | null>;
  /** Synced group ids the user belongs to, transitively, within the mapping's scope. */
  groups: string[];
};

/** A group as Signature 365 holds it; membership travels on users (User.groups). */
export type Signature365Group = {
  id: string;
  displayName: string | null;
  mail: string | null;
  description: string | null;
};

/** Body of POST .../users/batch and .../groups/batch. */
export interface BatchRequestBody<TRecord> {
  /** The Entra tenant id the records come from. */
  source: string;
  upserts: TRecord[];
  /** Entra object ids. */
  deletes: string[];
}

/** Per-item answer: 200 done, 404 delete of an id not held (treated as done), 400 rejected. */
export interface BatchItemResponse {
  id: string;
  status: number;
  error?: string | null | undefined;
}

export interface BatchResponseBody {
  /** One per item, upserts then deletes, in the order sent. */
  results: BatchItemResponse[];
}

export interface ConnectionResponseBody {
  tenant: string;
  tenantId: string;
}

const nullableString = z.string().nullable();

export const signature365ManagerSchema: z.ZodType<Signature365Manager> = z.object({
  id: z.string(),
  displayName: nullableString,
  mail: nullableString,
});

export const signature365UserSchema: z.ZodType<Signature365User> = z.object({
  id: z.string().min(1),
  userPrincipalName: nullableString,
  mail: nullableString,
  displayName: nullableString,
  givenName: nullableString,
  surname: nullableString,
  jobTitle: nullableString,
  department: nullableString,
  companyName: nullableString,
  officeLocation: nullableString,
  streetAddress: nullableString,
  city: nullableString,
  state: nullableString,
  postalCode: nullableString,
  country: nullableString,
  businessPhones: z.array(z.string()),
  mobilePhone: nullableString,
  faxNumber: nullableString,
  employeeId: nullableString,
  accountEnabled: z.boolean().nullable(),
  userType: nullableString,
  proxyAddresses: z.array(z.string()),
  manager: signature365ManagerSchema.nullable(),
  mailboxType: z.enum(['user', 'shared', 'room', 'equipment', 'unknown']),
  extensionAttributes: z.record(z.string(), nullableString),
  groups: z.array(z.string()),
});

export const signature365GroupSchema: z.ZodType<Signature365Group> = z.object({
  id: z.string().min(1),
  displayName: nullableString,
  mail: nullableString,
  description: nullableString,
});

export const batchResponseSchema: z.ZodType<BatchResponseBody> = z.object({
  results: z.array(z.object({
    id: z.string(),
    status: z.number().int(),
    error: z.string().nullish(),
  })),
});

export const connectionResponseSchema: z.ZodType<ConnectionResponseBody> = z.object({
  tenant: z.string(),
  tenantId: z.string(),
});

export const userListResponseSchema: z.ZodType<{ value: Signature365User[] }> = z.object({
  value: z.array(signature365UserSchema),
});

export const groupListResponseSchema: z.ZodType<{ value: Signature365Group[] }> = z.object({
  value: z.array(signature365GroupSchema),
});

/** The whole-request error body the API answers with (`{"error": "..."}`), when it sends one. */
export const errorResponseSchema = z.object({ error: z.string() });
