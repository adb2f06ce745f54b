/**
 * The admin API's contract: the zod schemas every request body and query is validated with, and
 * the OpenAPI 3.0 document served at `/api/v1/openapi.json`, derived from the same schemas so
 * the document and the validation cannot drift apart. Route handlers live in routes.ts.
 */
import { z } from 'zod';
import { roles, type Role } from './tokens.ts';
import { profileSchema } from '../profiles/model.ts';
import { reasonCodes } from '../issuance/errors.ts';
import { finishOpenApi } from './openapi-finish.ts';

// ── input schemas ─────────────────────────────────────────────────────────────────────────────

const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an RFC 3339 date-time, e.g. 2030-01-31T00:00:00Z' })
  .transform((s) => new Date(s));

export const keyTypes = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;
const issuerId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'issuer ids are 1-63 of a-z 0-9 - (starting with a letter or digit)');

export const issuerCreateSchema = z.strictObject({
  id: issuerId.describe('Identifier used in URLs (/ca/<id>.crt, /crl/<id>.crl)'),
  name: z.string().min(1).max(200).describe('Display name; also the CN when no subject is given'),
  subject: z.string().min(1).optional().describe('RFC 4514 subject DN; default CN=<name>'),
  parentId: issuerId.optional().describe('Signing issuer; omitted = a self-signed root'),
  keyType: z.enum(keyTypes).default('ec-p256'),
  keyStore: z.enum(['software', 'pkcs11']).default('software').describe('software: generated and sealed under the KEK; pkcs11: generated on the HSM token (non-extractable)'),
  keyRef: z.string().min(8).max(1000).regex(/^pkcs11:/i, 'keyRef must be a pkcs11: URI (RFC 7512)').optional().describe('An existing HSM key (pkcs11:token=…;object=…) instead of a new one'),
  signatureScheme: z.enum(['pkcs1', 'rsa-pss']).optional().describe('RSA keys: PKCS#1 v1.5 (default) or RSASSA-PSS (SHA-256, salt 32) for what this CA signs'),
  validityDays: z.number().int().min(1).max(50 * 365),
  pathLength: z.number().int().min(0).max(10).optional(),
  default: z.boolean().optional().describe('Make this the default issuing CA'),
});

export const issuerImportSchema = z.strictObject({
  id: issuerId,
  name: z.string().min(1).max(200).optional(),
  certificatePem: z.string().min(1).describe('The CA certificate, PEM'),
  privateKeyPem: z.string().min(1).describe('Its unencrypted PKCS#8 or traditional private key, PEM; stored sealed, never returned'),
  parentId: issuerId.optional(),
  default: z.boolean().optional(),
});

export const issuerPatchSchema = z.strictObject({
  crlValidityHours: z.number().positive().max(24 * 366).optional(),
  deltaCrlHours: z.number().min(0).max(24 * 366).optional(),
  crlPartitions: z.number().int().min(0).max(256).optional(),
  default: z.literal(true).optional().describe('Make this the default issuing CA (set another issuer to move it)'),
  successorId: issuerId.nullable().optional().describe('The issuer taking over at a CA rollover (announced by SCEP GetNextCACert); null ends the announcement'),
});

const identifierType = z.enum(['dns', 'ip', 'email', 'uri']);
const identifier = z.union([
  z.strictObject({ type: identifierType, value: z.string().min(1) }),
  z.string().regex(/^(dns|ip|email|uri):.+$/, 'expected type:value, e.g. dns:www.example.com'),
]);

const validity = z.union([
  z.string().min(1).describe('A duration: D:H:M:S, ISO 8601 (P90D) or seconds'),
  z.number().int().positive().describe('Seconds'),
  z.strictObject({
    duration: z.union([z.string().min(1), z.number().int().positive()]).optional(),
    notBefore: z.string().min(1).optional(),
    notAfter: z.string().min(1).optional(),
  }),
]);

export const issueSchema = z.strictObject({
  csr: z.string().min(1).describe('PKCS#10 request, PEM (or base64 DER)'),
  profile: z.string().min(1),
  validity: validity.optional(),
  subject: z
    .union([z.string().min(1), z.array(z.strictObject({ type: z.string().min(1), value: z.string() }))])
    .optional()
    .describe('Subject to certify instead of the CSR\'s (RFC 4514 DN or attributes in DER order)'),
  sans: z.array(identifier).max(1000).optional().describe('SANs to certify instead of the CSR\'s'),
  issuerId: issuerId.optional(),
  idempotencyKey: z.string().min(1).max(200).optional().describe('The same key returns the same result and never issues twice'),
});

export const revokeSchema = z.strictObject({
  reason: z.union([z.string(), z.number().int()]).optional().describe('RFC 5280 reason name (keyCompromise, superseded, …) or code'),
  issuerId: issuerId.optional().describe('Needed only when the serial exists under several issuers'),
  invalidityDate: isoDate.optional(),
});

export const certRefSchema = z.strictObject({
  issuerId: issuerId.optional(),
});

export const rejectSchema = z.strictObject({
  reason: z.string().min(1).max(1000).optional(),
});

export const certificateStatuses = ['valid', 'revoked', 'hold', 'expired'] as const;
const limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);

export const certificateQuerySchema = z.object({
  subject: z.string().min(1).optional().describe('Case-insensitive substring of the subject DN'),
  san: z.string().min(1).optional().describe('type:value (dns:www.example.com) or a bare value matching any SAN type'),
  serial: z.string().min(1).optional().describe('Serial number in hex'),
  status: z.enum(certificateStatuses).optional().describe('valid, revoked, hold (suspended) or expired'),
  profile: z.string().min(1).optional(),
  issuer: z.string().min(1).optional(),
  expiresBefore: isoDate.optional(),
  expiresAfter: isoDate.optional(),
  limit: limit(1000, 100),
  offset: z.coerce.number().int().min(0).default(0),
  pem: z.enum(['true', 'false']).optional().describe('true: every item carries its PEM too (bulk export)'),
});

export const certificateImportSchema = z.strictObject({
  pem: z.string().min(1).max(100_000).describe('The certificate, PEM; it must be signed by one of this server\'s issuers'),
  profile: z.string().min(1).max(100).default('imported').describe('Profile name to file it under'),
  status: z.enum(['valid', 'revoked', 'hold']).default('valid'),
  revokedAt: z.string().datetime({ offset: true }).optional().describe('When it was revoked (default: now)'),
  revocationReason: z.union([z.string().min(1).max(40), z.number().int().min(0).max(10)]).optional().describe('RFC 5280 reason name or code'),
});

export const requestQuerySchema = z.object({
  status: z.enum(['pending', 'approving', 'issued', 'rejected']).optional(),
});

export const auditQuerySchema = z.object({
  action: z.string().min(1).optional(),
  actor: z.string().min(1).optional(),
  target: z.string().min(1).optional(),
  since: isoDate.optional(),
  until: isoDate.optional(),
  limit: limit(1000, 100),
});

const operatorName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'operator names are 1-128 of A-Z a-z 0-9 . _ @ -');
export const roleSchema = z.enum(roles as [Role, ...Role[]]);

export const operatorCreateSchema = z.strictObject({
  name: operatorName,
  role: roleSchema,
  kind: z.enum(['operator', 'api-client']).default('operator'),
});

export const tokenCreateSchema = z.strictObject({
  role: roleSchema,
  name: operatorName.optional().describe('Operator the token names; created when missing; default cli-<role>-<random>'),
  ttlSeconds: z.number().int().min(60).max(10 * 366 * 86400).optional().describe('Lifetime; default CERTGATE_ADMIN_TOKEN_TTL'),
});

export const backupCreateSchema = z.strictObject({
  passphrase: z.string().min(1).max(1024).optional().describe('Seal the archive under this passphrase (at least 12 characters; scrypt)'),
  key: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64').max(4096).optional().describe('Or under this key (base64, at least 32 bytes), as a key file holds'),
});

// ── OpenAPI document ──────────────────────────────────────────────────────────────────────────

type Json = Record<string, unknown>;

const input = (s: z.ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Json;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });
const dateTime = { type: 'string', format: 'date-time' };
const str = { type: 'string' };
const nullableStr = { type: 'string', nullable: true };
const nullableDate = { type: 'string', format: 'date-time', nullable: true };

const errorResponses = {
  '400': { $ref: '#/components/responses/BadRequest' },
  '401': { $ref: '#/components/responses/Unauthorized' },
  '403': { $ref: '#/components/responses/Forbidden' },
};

interface Op {
  summary: string;
  tag: string;
  role: Role;
  params?: string[];
  query?: z.ZodObject;
  body?: string;
  bodyRequired?: boolean;
  responses: Record<string, Json>;
}

const paramDescriptions: Record<string, string> = {
  id: 'Identifier',
  name: 'Name',
  serial: 'Certificate serial number, hex (colons and 0x allowed)',
  issuerId: 'Issuer id',
};

function operation(op: Op): Json {
  const parameters: Json[] = (op.params ?? []).map((p) => ({ name: p, in: 'path', required: true, description: paramDescriptions[p], schema: str }));
  if (op.query) {
    const props = input(op.query).properties as Record<string, Json>;
    for (const [name, schema] of Object.entries(props)) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: 'query', required: false, description, schema: rest });
    }
  }
  const responses: Record<string, Json> = { ...op.responses, ...errorResponses };
  if (op.params?.length) responses['404'] = { $ref: '#/components/responses/NotFound' };
  return {
    summary: op.summary,
    tags: [op.tag],
    'x-required-role': op.role,
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: op.bodyRequired !== false, content: json(ref(op.body)) } } : {}),
    responses,
  };
}

const ok = (schema: Json, description = 'OK') => ({ description, content: json(schema) });
const list = (name: string) => ({ type: 'array', items: ref(name) });

/** Where the admin API is mounted; document paths are absolute from the server root. */
export const API_BASE = '/api/v1';

/**
 * A piece of API description to merge into the document (a protocol's endpoints, e.g. the emCA
 * fragment): absolute paths, plus any components and tags they use.
 */
export interface OpenApiFragment {
  paths?: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  tags?: { name: string; description?: string }[];
}

/**
 * The OpenAPI 3.0 document of the admin API (paths absolute from `serverUrl`, the server's
 * root), with any `fragments` merged in.
 */
export function openApiDocument(serverUrl = '', fragments: OpenApiFragment[] = []): Json {
  const relative: Record<string, Record<string, Json>> = {
    '/openapi.json': {
      get: {
        summary: 'This document',
        tags: ['meta'],
        security: [],
        responses: { '200': ok({ type: 'object' }) },
      },
    },
    '/issuers': {
      get: operation({ summary: 'List issuers (CAs); never private material', tag: 'issuers', role: 'auditor', responses: { '200': ok(list('Issuer')) } }),
      post: operation({
        summary: 'Create a CA: a subordinate of parentId, or a self-signed root without one',
        tag: 'issuers',
        role: 'administrator',
        body: 'IssuerCreate',
        responses: { '201': ok(ref('Issuer'), 'Created'), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/issuers/import': {
      post: operation({
        summary: 'Import an existing CA certificate and its private key (sealed at rest)',
        tag: 'issuers',
        role: 'administrator',
        body: 'IssuerImport',
        responses: { '201': ok(ref('Issuer'), 'Created'), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/hsm': {
      get: operation({
        summary: 'The HSM (PKCS#11): module, slots and tokens, the private keys on the token and which issuers use them',
        tag: 'issuers',
        role: 'auditor',
        responses: { '200': ok({ type: 'object' }) },
      }),
    },
    '/hsm/test': {
      post: operation({
        summary: 'Signs and verifies once with every HSM key an issuer uses',
        tag: 'issuers',
        role: 'administrator',
        responses: { '200': ok({ type: 'object' }) },
      }),
    },
    '/issuers/{id}': {
      get: operation({ summary: 'One issuer with its chain', tag: 'issuers', role: 'auditor', params: ['id'], responses: { '200': ok(ref('Issuer')) } }),
      patch: operation({
        summary: 'Change CRL options or make the issuer the default',
        tag: 'issuers',
        role: 'administrator',
        params: ['id'],
        body: 'IssuerPatch',
        responses: { '200': ok(ref('Issuer')) },
      }),
    },
    '/profiles': {
      get: operation({ summary: 'List profiles', tag: 'profiles', role: 'auditor', responses: { '200': ok(list('Profile')) } }),
      post: operation({
        summary: 'Create a profile',
        tag: 'profiles',
        role: 'administrator',
        body: 'ProfileInput',
        responses: { '201': ok(ref('Profile'), 'Created'), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/profiles/{name}': {
      get: operation({ summary: 'One profile', tag: 'profiles', role: 'auditor', params: ['name'], responses: { '200': ok(ref('Profile')) } }),
      put: operation({ summary: 'Replace a profile', tag: 'profiles', role: 'administrator', params: ['name'], body: 'ProfileInput', responses: { '200': ok(ref('Profile')) } }),
      delete: operation({ summary: 'Delete a profile', tag: 'profiles', role: 'administrator', params: ['name'], responses: { '204': { description: 'Deleted' } } }),
    },
    '/certificates/import': {
      post: operation({
        summary: 'Take a certificate issued by one of this server\'s issuers (elsewhere, or exported from another Certgate) into the inventory',
        tag: 'certificates',
        role: 'administrator',
        body: 'CertificateImport',
        responses: { '201': ok(ref('Certificate'), 'Imported'), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/certificates': {
      get: operation({ summary: 'Search certificates', tag: 'certificates', role: 'auditor', query: certificateQuerySchema, responses: { '200': ok(ref('CertificateList')) } }),
      post: operation({
        summary: 'Issue from a CSR through the issuance pipeline (profile rules apply)',
        tag: 'certificates',
        role: 'officer',
        body: 'IssueRequest',
        responses: {
          '200': ok(ref('IssueResult'), 'Replayed: the idempotency key was used before'),
          '201': ok(ref('IssueResult'), 'Issued'),
          '202': ok(ref('IssueResult'), 'Held for manual approval'),
          '404': { $ref: '#/components/responses/NotFound' },
          '409': { $ref: '#/components/responses/Conflict' },
          '503': { $ref: '#/components/responses/Unavailable' },
        },
      }),
    },
    '/certificates/{id}': {
      get: operation({
        summary: 'One certificate (by id, or by serial when unique) with its PEM',
        tag: 'certificates',
        role: 'auditor',
        params: ['id'],
        responses: { '200': ok(ref('Certificate')) },
      }),
    },
    '/certificates/{id}/pem': {
      get: operation({
        summary: 'The certificate as PEM',
        tag: 'certificates',
        role: 'auditor',
        params: ['id'],
        responses: { '200': { description: 'PEM', content: { 'application/x-pem-file': { schema: str } } } },
      }),
    },
    '/certificates/{serial}/revoke': {
      post: operation({
        summary: 'Revoke (permanently); the CRL and OCSP show it at once',
        tag: 'revocation',
        role: 'officer',
        params: ['serial'],
        body: 'RevokeRequest',
        bodyRequired: false,
        responses: { '200': ok(ref('Certificate')), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/certificates/{serial}/suspend': {
      post: operation({
        summary: 'Suspend (certificateHold)',
        tag: 'revocation',
        role: 'officer',
        params: ['serial'],
        body: 'CertificateRef',
        bodyRequired: false,
        responses: { '200': ok(ref('Certificate')), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/certificates/{serial}/reinstate': {
      post: operation({
        summary: 'Lift a suspension',
        tag: 'revocation',
        role: 'officer',
        params: ['serial'],
        body: 'CertificateRef',
        bodyRequired: false,
        responses: { '200': ok(ref('Certificate')), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/requests': {
      get: operation({ summary: 'Requests held for manual approval', tag: 'requests', role: 'auditor', query: requestQuerySchema, responses: { '200': ok(list('PendingRequest')) } }),
    },
    '/requests/{id}': {
      get: operation({ summary: 'One request and its outcome', tag: 'requests', role: 'auditor', params: ['id'], responses: { '200': ok(ref('PendingRequest')) } }),
    },
    '/requests/{id}/approve': {
      post: operation({
        summary: 'Approve and issue',
        tag: 'requests',
        role: 'officer',
        params: ['id'],
        responses: { '200': ok(ref('IssueResult')), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/requests/{id}/reject': {
      post: operation({
        summary: 'Reject',
        tag: 'requests',
        role: 'officer',
        params: ['id'],
        body: 'RejectRequest',
        bodyRequired: false,
        responses: { '200': ok(ref('IssueResult')), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/crl/{issuerId}': {
      get: operation({ summary: 'The current CRL of an issuer (metadata)', tag: 'crl', role: 'auditor', params: ['issuerId'], responses: { '200': ok(ref('CrlInfo')) } }),
    },
    '/crl/{issuerId}/generate': {
      post: operation({ summary: 'Build and publish a new CRL now', tag: 'crl', role: 'officer', params: ['issuerId'], responses: { '200': ok(ref('CrlInfo')) } }),
    },
    '/audit': {
      get: operation({ summary: 'Search the audit trail, newest first', tag: 'audit', role: 'auditor', query: auditQuerySchema, responses: { '200': ok(list('AuditEvent')) } }),
    },
    '/operators': {
      get: operation({ summary: 'Operators and API clients', tag: 'operators', role: 'administrator', responses: { '200': ok(list('Operator')) } }),
      post: operation({
        summary: 'Create an operator or API client',
        tag: 'operators',
        role: 'administrator',
        body: 'OperatorCreate',
        responses: { '201': ok(ref('Operator'), 'Created'), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/operators/{name}/disable': {
      post: operation({
        summary: 'Disable an operator: its tokens stop working at once',
        tag: 'operators',
        role: 'administrator',
        params: ['name'],
        responses: { '200': ok(ref('Operator')), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
    '/backups': {
      post: operation({
        summary: 'An encrypted backup archive of the whole CA, streamed as the response body (application/octet-stream); without passphrase or key, the configured CERTGATE_BACKUP_* secret',
        tag: 'backups',
        role: 'administrator',
        body: 'BackupCreate',
        bodyRequired: false,
        responses: { '200': { description: 'The archive', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } },
      }),
      get: operation({ summary: 'Scheduled archives in CERTGATE_BACKUP_DIR', tag: 'backups', role: 'administrator', responses: { '200': ok(ref('BackupList')) } }),
    },
    '/tokens': {
      post: operation({
        summary: 'Create a bearer token for an operator (created when missing)',
        tag: 'operators',
        role: 'administrator',
        body: 'TokenCreate',
        responses: { '201': ok(ref('TokenResult'), 'Created'), '409': { $ref: '#/components/responses/Conflict' } },
      }),
    },
  };

  const paths: Record<string, Record<string, unknown>> = Object.fromEntries(Object.entries(relative).map(([p, ops]) => [API_BASE + p, ops]));

  const errorSchema = {
    type: 'object',
    required: ['error', 'message'],
    properties: {
      error: str,
      /** The closed set of reason codes (src/issuance/errors.ts). */
      reason: { type: 'string', enum: [...reasonCodes], description: 'Reason code of the refusal (docs/issuance.md, Refusals)' },
      message: str,
      rule: { type: 'string', description: 'The profile, policy or lint rule broken, e.g. san.dns.wildcard, profile.audience, lint.keyUsage.keyType' },
      requestId: str,
    },
  };
  const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });

  const doc = {
    openapi: '3.0.3',
    info: {
      title: 'Certgate admin API',
      version: '1',
      description:
        'Operate the gateway: issuers, profiles, certificates, revocation, manual approval, CRLs, audit, operators and tokens. ' +
        'Every call but this document needs `Authorization: Bearer <token>` (`certgate token create --role ROLE`). ' +
        'Roles are least-privilege: auditor reads; officer also issues, revokes, suspends, reinstates, decides requests and ' +
        'generates CRLs; administrator may do everything. Each operation names the least role in `x-required-role`.',
    },
    servers: [{ url: serverUrl || '/' }],
    security: [{ bearerAuth: [] }],
    tags: ['issuers', 'profiles', 'certificates', 'revocation', 'requests', 'crl', 'audit', 'operators', 'backups', 'meta'].map((name): { name: string; description?: string } => ({ name })),
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      responses: {
        BadRequest: errorResponse('Invalid input; the message names the field'),
        Unauthorized: {
          description: 'Missing, invalid or expired token, or a disabled operator',
          headers: { 'WWW-Authenticate': { schema: str } },
          content: json(ref('Error')),
        },
        Forbidden: errorResponse('The operator\'s role may not do this (or a profile rule forbids it)'),
        NotFound: errorResponse('No such object'),
        Conflict: errorResponse('The state does not allow this (already revoked, name in use, …)'),
        Unavailable: errorResponse('The issuer cannot sign now'),
      },
      schemas: {
        Error: errorSchema,
        IssuerCreate: input(issuerCreateSchema),
        IssuerImport: input(issuerImportSchema),
        IssuerPatch: input(issuerPatchSchema),
        Issuer: {
          type: 'object',
          properties: {
            id: str,
            name: str,
            parentId: nullableStr,
            subject: str,
            keyAlgorithm: str,
            keyStore: { type: 'string', enum: ['software', 'pkcs11'], description: 'Where the private key is: sealed under the KEK, or on the HSM token' },
            keyRef: { type: 'string', description: 'The HSM key\'s RFC 7512 URI (pkcs11 keys only)' },
            publicKeyPem: { type: 'string', description: 'The public key, PEM SubjectPublicKeyInfo' },
            notBefore: dateTime,
            notAfter: dateTime,
            status: { type: 'string', enum: ['active', 'retired'] },
            isDefault: { type: 'boolean' },
            isRoot: { type: 'boolean' },
            pathLength: { type: 'integer', nullable: true },
            successorId: nullableStr,
            options: { type: 'object', properties: { crlValidityHours: { type: 'number' }, deltaCrlHours: { type: 'number' }, crlPartitions: { type: 'integer' }, signatureScheme: { type: 'string', enum: ['rsa-pss'] } } },
            fingerprintSha256: str,
            urls: { type: 'object', properties: { crl: str, caIssuers: str, ocsp: str } },
            certificatePem: str,
            chainPem: { type: 'string', description: 'This CA up to its root (detail view only)' },
          },
        },
        ProfileInput: input(profileSchema),
        Profile: { allOf: [input(profileSchema), { type: 'object', properties: { builtin: { type: 'boolean' } } }] },
        IssueRequest: input(issueSchema),
        IssueResult: {
          type: 'object',
          required: ['status'],
          properties: {
            status: { type: 'string', enum: ['issued', 'pending', 'rejected'] },
            replayed: { type: 'boolean' },
            certificate: ref('Certificate'),
            chainPem: { type: 'string', description: 'Issuer certificates, nearest first' },
            requestId: str,
            reason: str,
          },
        },
        Certificate: {
          type: 'object',
          properties: {
            id: str,
            issuerId: str,
            serial: { type: 'string', description: 'Lower-case hex' },
            subject: str,
            sans: { type: 'array', items: { type: 'string', description: 'type:value' } },
            notBefore: dateTime,
            notAfter: dateTime,
            profile: str,
            status: { type: 'string', enum: ['valid', 'revoked', 'hold'] },
            expired: { type: 'boolean' },
            revokedAt: nullableDate,
            revocationReason: nullableStr,
            invalidityDate: nullableDate,
            protocol: str,
            principal: str,
            createdAt: dateTime,
            pem: { type: 'string', description: 'Detail view only' },
          },
        },
        CertificateList: {
          type: 'object',
          properties: { total: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' }, items: list('Certificate') },
        },
        RevokeRequest: input(revokeSchema),
        CertificateRef: input(certRefSchema),
        RejectRequest: input(rejectSchema),
        PendingRequest: {
          type: 'object',
          properties: {
            id: str,
            status: { type: 'string', enum: ['pending', 'approving', 'issued', 'rejected'] },
            profile: str,
            protocol: str,
            principal: str,
            subject: str,
            certificateId: nullableStr,
            reason: nullableStr,
            decidedBy: nullableStr,
            decidedAt: nullableDate,
            createdAt: dateTime,
            certificate: ref('Certificate'),
          },
        },
        CrlInfo: {
          type: 'object',
          properties: { issuerId: str, number: { type: 'integer' }, thisUpdate: dateTime, nextUpdate: dateTime, entries: { type: 'integer' }, url: str },
        },
        AuditEvent: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            at: dateTime,
            actor: str,
            action: str,
            target: nullableStr,
            outcome: { type: 'string', enum: ['success', 'failure'] },
            details: { type: 'object' },
            requestId: nullableStr,
          },
        },
        OperatorCreate: input(operatorCreateSchema),
        CertificateImport: input(certificateImportSchema),
        Operator: {
          type: 'object',
          properties: {
            id: str,
            name: str,
            kind: { type: 'string', enum: ['operator', 'api-client', 'local'] },
            role: { type: 'string', enum: roles },
            disabled: { type: 'boolean' },
            createdAt: dateTime,
          },
        },
        TokenCreate: input(tokenCreateSchema),
        BackupCreate: input(backupCreateSchema),
        BackupList: {
          type: 'object',
          properties: {
            dir: str,
            intervalHours: { type: 'number' },
            keep: { type: 'integer' },
            archives: { type: 'array', items: { type: 'object', properties: { file: str, bytes: { type: 'integer' }, modified: dateTime } } },
          },
        },
        TokenResult: {
          type: 'object',
          properties: { token: str, operator: str, role: { type: 'string', enum: roles }, expiresAt: dateTime },
        },
      },
    },
  };
  for (const f of fragments) {
    for (const [p, ops] of Object.entries(f.paths ?? {})) paths[p] = { ...(paths[p] ?? {}), ...ops };
    const components = doc.components as Record<string, Record<string, unknown>>;
    for (const [kind, entries] of Object.entries(f.components ?? {})) components[kind] = { ...(components[kind] ?? {}), ...entries };
    for (const t of f.tags ?? []) if (!doc.tags.some((x) => x.name === t.name)) doc.tags.push(t);
  }
  return finishOpenApi(doc);
}
