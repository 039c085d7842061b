/**
 * The Entra token endpoint of the fake: client credentials with a client secret or a certificate-signed
 * client assertion (aud/iss/sub/exp, x5t/x5t#S256 thumbprint and signature checked against the registered
 * certificate), OpenID metadata for a custom authority, and the bearer tokens Graph then accepts.
 * Error bodies follow Entra's shape (error, error_description with an AADSTS code, error_codes).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual, verify, X509Certificate, constants } from 'node:crypto';

export interface AppRegistration {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** PEM holding the app's certificate (a private key next to it is ignored). */
  certificatePem?: string;
}

export interface TokenRequestRecord {
  clientId: string | undefined;
  method: 'secret' | 'certificate' | 'none';
  scope: string | undefined;
  /** Whether the client assertion carried its certificate chain (x5c), i.e. sendCertificateChain. */
  sentCertificateChain: boolean;
  issued: boolean;
  error?: string;
}

export interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
}

const ACCESS_TOKEN_LIFETIME_SECONDS = 3599;

function entraError(status: number, error: string, aadsts: number, description: string): TokenResponse {
  const traceId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${randomUUID()} Timestamp: ${timestamp}`,
      error_codes: [aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: randomUUID(),
    },
  };
}

function base64UrlJson(part: string | undefined): Record<string, unknown> | undefined {
  if (part === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function firstCertificate(pem: string): X509Certificate {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new Error('certificatePem holds no CERTIFICATE block');
  return new X509Certificate(match[0]);
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class TokenService {
  private readonly accessTokens = new Map<string, number>();
  private readonly certificate: X509Certificate | undefined;
  readonly tokenRequests: TokenRequestRecord[] = [];

  constructor(
    private readonly app: AppRegistration,
    /** e.g. https://127.0.0.1:1234/.default is the only scope granted */
    private readonly allowedScope: () => string,
  ) {
    this.certificate = app.certificatePem ? firstCertificate(app.certificatePem) : undefined;
  }

  /** Whether Graph should accept this Authorization header. */
  isValidBearer(authorization: string | undefined): boolean {
    const match = /^Bearer (.+)$/.exec(authorization ?? '');
    const token = match?.[1];
    if (!token) return false;
    const expiresAt = this.accessTokens.get(token);
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  /** Invalidates every issued access token (Graph then answers 401 until a new one is fetched). */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  openIdConfiguration(origin: string, tenantId: string): TokenResponse {
    if (tenantId !== this.app.tenantId && tenantId !== 'common' && tenantId !== 'organizations') {
      return entraError(400, 'invalid_tenant', 90002, `Tenant '${tenantId}' not found.`);
    }
    const base = `${origin}/${tenantId}`;
    return {
      status: 200,
      body: {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${origin}/${tenantId}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${origin}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid'],
        kerberos_endpoint: `${base}/kerberos`,
        tenant_region_scope: 'EU',
        cloud_instance_name: new URL(origin).host,
        cloud_graph_host_name: new URL(origin).host,
        msgraph_host: new URL(origin).host,
        rbac_url: origin,
      },
    };
  }

  /** POST /{tenant}/oauth2/v2.0/token with a form body. */
  token(tokenEndpoint: string, tenantId: string, form: URLSearchParams): TokenResponse {
    const clientId = form.get('client_id') ?? undefined;
    const scope = form.get('scope') ?? undefined;
    const record: TokenRequestRecord = { clientId, method: 'none', scope, sentCertificateChain: false, issued: false };
    this.tokenRequests.push(record);
    const fail = (response: TokenResponse): TokenResponse => {
      record.error = String(response.body.error);
      return response;
    };

    if (tenantId !== this.app.tenantId) return fail(entraError(400, 'invalid_request', 90002, `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`));
    if (form.get('grant_type') !== 'client_credentials') return fail(entraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'));
    if (clientId !== this.app.clientId) return fail(entraError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId ?? ''}' was not found in the directory '${tenantId}'.`));
    const scopes = (scope ?? '').split(' ').filter((s) => s.length > 0 && s !== 'openid' && s !== 'profile' && s !== 'offline_access');
    if (scopes.length !== 1 || scopes[0] !== this.allowedScope()) {
      return fail(entraError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (expected ${this.allowedScope()}).`));
    }

    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      record.method = 'secret';
      if (!this.app.clientSecret || !safeEqual(secret, this.app.clientSecret)) {
        return fail(entraError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${this.app.clientId}'.`));
      }
    } else if (assertion !== null) {
      record.method = 'certificate';
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        return fail(entraError(400, 'invalid_request', 50027, 'Invalid client_assertion_type.'));
      }
      const problem = this.checkAssertion(assertion, tokenEndpoint, record);
      if (problem) return fail(problem);
    } else {
      return fail(entraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."));
    }

    const accessToken = randomBytes(32).toString('base64url');
    this.accessTokens.set(accessToken, Date.now() + ACCESS_TOKEN_LIFETIME_SECONDS * 1000);
    record.issued = true;
    return {
      status: 200,
      body: { token_type: 'Bearer', expires_in: ACCESS_TOKEN_LIFETIME_SECONDS, ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS, access_token: accessToken },
    };
  }

  private checkAssertion(assertion: string, tokenEndpoint: string, record: TokenRequestRecord): TokenResponse | undefined {
    const invalid = (description: string) => entraError(401, 'invalid_client', 700027, `Client assertion failed signature validation. ${description}`);
    if (!this.certificate) return entraError(401, 'invalid_client', 700027, 'No certificate is registered for the application.');
    const [headerPart, payloadPart, signaturePart] = assertion.split('.');
    const header = base64UrlJson(headerPart);
    const payload = base64UrlJson(payloadPart);
    if (!header || !payload || headerPart === undefined || payloadPart === undefined || signaturePart === undefined) return invalid('The assertion is not a JWT.');

    const der = this.certificate.raw;
    const x5t = header.x5t;
    const x5tS256 = header['x5t#S256'];
    const sha1 = createHash('sha1').update(der).digest('base64url');
    const sha256 = createHash('sha256').update(der).digest('base64url');
    if (x5t === undefined && x5tS256 === undefined) return invalid('The assertion header has no x5t or x5t#S256.');
    if ((x5t !== undefined && x5t !== sha1) || (x5tS256 !== undefined && x5tS256 !== sha256)) {
      return entraError(401, 'invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application ${this.app.clientId}.`);
    }
    if (Array.isArray(header.x5c)) {
      record.sentCertificateChain = true;
      if (header.x5c[0] !== der.toString('base64')) return invalid('The x5c chain does not start with the registered certificate.');
    }

    const signed = Buffer.from(`${headerPart}.${payloadPart}`);
    const signature = Buffer.from(signaturePart, 'base64url');
    const key = this.certificate.publicKey;
    let valid: boolean;
    if (header.alg === 'RS256') valid = verify('sha256', signed, key, signature);
    else if (header.alg === 'PS256') valid = verify('sha256', signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
    else return invalid(`Unsupported alg ${String(header.alg)}.`);
    if (!valid) return invalid('The signature does not match the registered certificate.');

    const now = Math.floor(Date.now() / 1000);
    if (payload.aud !== tokenEndpoint) return invalid(`The audience ${String(payload.aud)} is not the token endpoint ${tokenEndpoint}.`);
    if (payload.iss !== this.app.clientId || payload.sub !== this.app.clientId) return invalid('iss and sub must be the client id.');
    if (typeof payload.exp !== 'number' || payload.exp < now - 300) return entraError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    if (typeof payload.nbf === 'number' && payload.nbf > now + 300) return entraError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    return undefined;
  }
}
