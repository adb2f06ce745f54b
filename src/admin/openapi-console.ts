/**
 * The OpenAPI description of the routes the web console added to the admin API (password login,
 * whoami, operator passwords, dashboard aggregates), merged into `/api/v1/openapi.json` as a
 * fragment so the core document's builder stays as it is.
 */
import { z } from 'zod';
import type { OpenApiFragment } from './openapi.ts';
import { dashboardQuerySchema } from './routes/dashboard.ts';
import { loginSchema, passwordSetSchema } from './routes/session.ts';

type Json = Record<string, unknown>;
const toJson = (s: z.ZodType, io: 'input' | 'output' = 'input') => z.toJSONSchema(s, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Json;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });
const ok = (schema: Json, description = 'OK') => ({ description, content: json(schema) });
const guarded = {
  '400': { $ref: '#/components/responses/BadRequest' },
  '401': { $ref: '#/components/responses/Unauthorized' },
  '403': { $ref: '#/components/responses/Forbidden' },
};
const obj = (properties: Json) => ({ type: 'object', properties });
const str = { type: 'string' };
const date = { type: 'string', format: 'date-time' };

export const consoleOpenApi: OpenApiFragment = {
  paths: {
    '/api/v1/auth/login': {
      post: {
        operationId: 'login',
        summary: 'Console password login: a short-lived bearer token (CERTGATE_CONSOLE_SESSION_TTL)',
        tags: ['operators'],
        security: [],
        requestBody: { required: true, content: json(ref('Login')) },
        responses: {
          '200': ok(ref('LoginResult')),
          '400': { $ref: '#/components/responses/BadRequest' },
          '401': { description: 'Wrong username or password (also for unknown or disabled operators)', content: json(ref('Error')) },
          '429': { description: 'Too many failed logins for this operator or from this address', headers: { 'Retry-After': { schema: { type: 'integer' } } }, content: json(ref('Error')) },
        },
      },
    },
    '/api/v1/auth/whoami': {
      get: { operationId: 'whoami', summary: 'The operator a token names, and its role', tags: ['operators'], 'x-required-role': 'auditor', responses: { '200': ok(obj({ id: str, name: str, role: str })), ...guarded } },
    },
    '/api/v1/operators/{name}/password': {
      put: {
        operationId: 'setOperatorPassword',
        summary: 'Set an operator\'s console password (scrypt-hashed; clears its failed-login count)',
        tags: ['operators'],
        'x-required-role': 'administrator',
        parameters: [{ name: 'name', in: 'path', required: true, description: 'Name', schema: str }],
        requestBody: { required: true, content: json(ref('PasswordSet')) },
        responses: { '200': ok(obj({ operator: str, passwordSet: { type: 'boolean' } })), ...guarded, '404': { $ref: '#/components/responses/NotFound' }, '409': { $ref: '#/components/responses/Conflict' } },
      },
    },
    '/api/v1/dashboard': {
      get: {
        operationId: 'getDashboard',
        summary: 'Aggregates for the console dashboard: issuance per day, statuses, expiring, pending, CRL freshness, errors',
        tags: ['meta'],
        'x-required-role': 'auditor',
        parameters: Object.entries((toJson(dashboardQuerySchema).properties ?? {}) as Record<string, Json>).map(([name, s]) => {
          const { description, ...schema } = s;
          return { name, in: 'query', required: false, description, schema };
        }),
        responses: { '200': ok(ref('Dashboard')), ...guarded },
      },
    },
  },
  components: {
    schemas: {
      Login: toJson(loginSchema),
      PasswordSet: toJson(passwordSetSchema),
      LoginResult: obj({ token: str, operator: str, role: { type: 'string', enum: ['administrator', 'officer', 'auditor'] }, expiresAt: date }),
      Dashboard: obj({
        generatedAt: date,
        since: date,
        days: { type: 'integer' },
        issuance: { type: 'array', items: obj({ day: str, protocol: str, profile: str, count: { type: 'integer' } }) },
        certificates: obj({ total: { type: 'integer' }, valid: { type: 'integer' }, revoked: { type: 'integer' }, hold: { type: 'integer' }, expired: { type: 'integer' } }),
        expiring: obj({ days: { type: 'integer' }, total: { type: 'integer' }, items: { type: 'array', items: ref('Certificate') } }),
        pending: obj({ total: { type: 'integer' }, items: { type: 'array', items: { type: 'object' } } }),
        crls: { type: 'array', items: obj({ issuerId: str, issuerStatus: str, number: { type: 'integer', nullable: true }, thisUpdate: { ...date, nullable: true }, nextUpdate: { ...date, nullable: true }, stale: { type: 'boolean' } }) },
        errors: obj({ issuance: { type: 'array', items: { type: 'object' } }, audit: { type: 'array', items: { type: 'object' } }, rejectedRequests: { type: 'array', items: { type: 'object' } } }),
      }),
    },
  },
};
