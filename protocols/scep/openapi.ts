/** OpenAPI 3.0 fragment of SCEP's admin route, merged into `/api/v1/openapi.json` (ProtocolModule.openapi). */
import type { OpenApiFragment } from '../../src/admin/openapi.ts';

const error = { description: 'Error', content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } } } } };

export const scepOpenApi: OpenApiFragment = {
  tags: [{ name: 'scep', description: 'SCEP (RFC 8894): one-time challenge passwords' }],
  paths: {
    '/api/v1/scep/challenges': {
      post: {
        tags: ['scep'],
        summary: 'Make a one-time challenge password for a SCEP label (shown once; officer or administrator)',
        security: [{ bearerAuth: [] }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  label: { type: 'string', default: 'default', description: 'the label of /scep/<label>' },
                  ttlSeconds: { type: 'integer', minimum: 1, maximum: 2592000, description: 'default CERTGATE_SCEP_CHALLENGE_TTL' },
                },
              },
            },
          },
        },
        responses: {
          '201': {
            description: 'The challenge',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { challenge: { type: 'string' }, label: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } } },
              },
            },
          },
          '400': error,
          '401': error,
          '403': error,
        },
      },
    },
  },
};
