/**
 * What a failed connection check means, so test-connection advises the right fix: a network failure
 * (the name does not resolve, nothing listens, no answer in time, TLS) says nothing about the
 * credentials, and advising "check TenantId, ClientId and the secret" for a DNS failure sends the
 * administrator to the wrong place. A pure decision over the error and its causes.
 */

export type FailureKind = 'network' | 'credential' | 'permission' | 'other';

export interface ConnectionFailure {
  kind: FailureKind;
  /** The network error code found (ENOTFOUND, ECONNREFUSED, ETIMEDOUT, a TLS code), or the Entra AADSTS code. */
  code: string | undefined;
}

const NETWORK_CODES: Readonly<Record<string, string>> = {
  ENOTFOUND: 'the host name does not resolve (DNS)',
  EAI_AGAIN: 'the host name could not be resolved now (DNS)',
  EAI_FAIL: 'the host name does not resolve (DNS)',
  ECONNREFUSED: 'the connection was refused: nothing listens at that address and port',
  ECONNRESET: 'the connection was reset (a proxy or firewall in the way?)',
  ECONNABORTED: 'the connection was aborted',
  EPIPE: 'the connection was closed while sending',
  ETIMEDOUT: 'no answer in time',
  UND_ERR_CONNECT_TIMEOUT: 'no answer in time',
  UND_ERR_SOCKET: 'the connection failed',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'no route to the network',
};

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EPROTO',
]);

const TLS_DESCRIPTION =
  'the TLS handshake failed (a certificate not trusted or not for this host; behind a TLS-inspecting proxy, add its CA with NODE_EXTRA_CA_CERTS)';

function isTlsCode(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('CERT_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_');
}

/** What a network error code means, in words; undefined when the code is not a network failure. */
export function describeNetworkCode(code: string): string | undefined {
  return NETWORK_CODES[code] ?? (isTlsCode(code) ? TLS_DESCRIPTION : code === 'TimeoutError' ? 'no answer in time' : undefined);
}

// Codes that only survive in a message (MSAL and some SDKs flatten the cause into text).
const CODE_IN_TEXT = /\b(ENOTFOUND|EAI_AGAIN|EAI_FAIL|ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT|CERT_[A-Z_]+|ERR_TLS_[A-Z_]+|UNABLE_TO_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\b/;

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && key in value ? (value as Record<string, unknown>)[key] : undefined;
}

/** The error, its causes and the members of an AggregateError, breadth first, at most 20. */
function errorChain(error: unknown): unknown[] {
  const seen: unknown[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.length < 20) {
    const next = queue.shift();
    if (next === undefined || next === null || seen.includes(next)) continue;
    seen.push(next);
    queue.push(field(next, 'cause'));
    const members = field(next, 'errors');
    if (Array.isArray(members)) queue.push(...(members as unknown[]));
  }
  return seen;
}

/** The first network error code in the error or its causes (a code property, a TimeoutError, or a code named in a message). */
export function findNetworkCode(error: unknown): string | undefined {
  const chain = errorChain(error);
  for (const link of chain) {
    const code = field(link, 'code');
    if (typeof code === 'string' && describeNetworkCode(code) !== undefined) return code;
    if (field(link, 'name') === 'TimeoutError') return 'TimeoutError';
  }
  for (const link of chain) {
    const message = field(link, 'message');
    const match = typeof message === 'string' ? CODE_IN_TEXT.exec(message) : null;
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

/**
 * Sorts a failure by what the administrator must fix:
 * 1. a network error code anywhere in the causes → network (the credentials were not tried);
 * 2. Entra refused the sign-in (an AADSTS code) or Signature 365 the token (401/403) → credential;
 * 3. Graph refused a permission (403 on the read) → permission;
 * 4. an answer-less failure of our own clients (no HTTP status) → network;
 * 5. anything else → other.
 * A token request that failed without any code (MSAL's endpoints_resolution_error) stays `credential`
 * here; the command probes the authority to tell (see probeAuthority).
 */
export function classifyConnectionFailure(error: unknown): ConnectionFailure {
  const networkCode = findNetworkCode(error);
  if (networkCode !== undefined) return { kind: 'network', code: networkCode };
  const name = field(error, 'name');
  switch (name) {
    case 'GraphAuthenticationError': {
      const aadCode = field(error, 'aadCode');
      return { kind: 'credential', code: typeof aadCode === 'string' ? aadCode : undefined };
    }
    case 'DestinationAuthError':
      return { kind: 'credential', code: undefined };
    case 'GraphPermissionError':
      return { kind: 'permission', code: undefined };
    case 'GraphRequestError':
    case 'DestinationUnavailableError':
      if (field(error, 'status') === undefined) return { kind: 'network', code: undefined };
      return { kind: 'other', code: undefined };
    default:
      return { kind: 'other', code: undefined };
  }
}

/** The host of a URL, for messages; the text itself when it is not a URL. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
