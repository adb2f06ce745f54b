/**
 * OpenAPI 3.0 fragment for the EST admin routes (`/api/v1/est/…`), merged into
 * /api/v1/openapi.json. The EST protocol endpoints themselves are RFC 7030's, not JSON.
 */
type Json = Record<string, unknown>;

const json = (description: string, schema: Json) => ({ description, content: { 'application/json': { schema } } });
const error = json('Error', { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } });
const bearer = [{ bearerAuth: [] }];
const label: Json = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'path segment: /.well-known/est/<name>/' },
    profile: { type: 'string' },
    issuerId: { type: 'string' },
    auth: { type: 'string', enum: ['cert', 'basic', 'both'] },
    channelBinding: { type: 'boolean', description: 'CSR challengePassword must carry tls-unique / tls-exporter' },
  },
};
const user: Json = {
  type: 'object',
  properties: { id: { type: 'string' }, label: { type: 'string' }, name: { type: 'string' }, disabled: { type: 'boolean' }, createdAt: { type: 'string', format: 'date-time' } },
};
const errors = { '400': error, '401': error, '403': error };

export const estOpenApi = {
  tags: [{ name: 'est', description: 'EST (RFC 7030) labels and HTTP Basic credentials' }],
  paths: {
    '/api/v1/est/labels': {
      get: { summary: 'List EST labels (auditor)', tags: ['est'], security: bearer, responses: { '200': json('Labels', { type: 'array', items: label }), ...errors } },
      post: {
        summary: 'Add an EST label (administrator)',
        tags: ['est'],
        security: bearer,
        requestBody: { required: true, content: { 'application/json': { schema: { ...label, required: ['name', 'profile'] } } } },
        responses: { '201': json('The label', label), '409': error, ...errors },
      },
    },
    '/api/v1/est/users': {
      get: {
        summary: 'List HTTP Basic users (auditor); never passwords',
        tags: ['est'],
        security: bearer,
        parameters: [{ name: 'label', in: 'query', required: false, schema: { type: 'string' } }],
        responses: { '200': json('Users', { type: 'array', items: user }), ...errors },
      },
      post: {
        summary: 'Add an HTTP Basic user to a label (administrator); the password is in this answer only',
        tags: ['est'],
        security: bearer,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['label', 'name'], properties: { label: { type: 'string' }, name: { type: 'string' } } } } } },
        responses: { '201': json('The user and its password', { type: 'object', properties: { user, password: { type: 'string' } } }), '404': error, '409': error, ...errors },
      },
    },
    '/api/v1/est/users/{label}/{name}/disable': {
      post: {
        summary: 'Disable an HTTP Basic user (administrator)',
        tags: ['est'],
        security: bearer,
        parameters: [
          { name: 'label', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
        ],
        responses: { '200': json('Disabled', { type: 'object', properties: { disabled: { type: 'boolean' } } }), '404': error, ...errors },
      },
    },
  },
};
