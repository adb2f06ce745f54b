/**
 * OpenAPI 3.0 fragment for the OCSP endpoints, for the lead to merge into the server's document;
 * also served at `/api/v1/ocsp/openapi.json`.
 */
type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonResp = (description: string, schema: Json) => ({ description, content: { 'application/json': { schema } } });
const error = jsonResp('Error', ref('OcspApiError'));
const ocspResp = { description: 'An OCSPResponse (RFC 6960 §4.2.1); every OCSP-level error is also HTTP 200', content: { 'application/ocsp-response': { schema: { type: 'string', format: 'binary' } } } };
const bearer = [{ bearerAuth: [] }];
const idParam = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });

const settingsSchema: Json = {
  type: 'object',
  additionalProperties: false,
  properties: {
    signing: { type: 'string', enum: ['delegated', 'issuer'], description: 'who signs responses' },
    validitySeconds: { type: 'integer', minimum: 60, maximum: 2592000, description: 'nextUpdate - thisUpdate' },
    refreshFraction: { type: 'number', minimum: 0.05, maximum: 0.95 },
    maxAgeSeconds: { type: 'integer', minimum: 0, maximum: 2592000, description: 'cap of Cache-Control max-age on GET' },
    nonce: { type: 'string', enum: ['sign', 'ignore'] },
    responderValidityDays: { type: 'integer', minimum: 1, maximum: 365 },
    rotateFraction: { type: 'number', minimum: 0.05, maximum: 0.9 },
    responderKey: { type: 'string', enum: ['issuer', 'ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'] },
  },
};

const responderSchema: Json = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    issuerId: { type: 'string' },
    serial: { type: 'string' },
    certificateId: { type: 'string' },
    keyAlgorithm: { type: 'string' },
    notBefore: { type: 'string', format: 'date-time' },
    notAfter: { type: 'string', format: 'date-time' },
    status: { type: 'string', enum: ['active', 'retired', 'revoked'] },
    createdBy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    certificatePem: { type: 'string' },
  },
};

const issuerSchema: Json = {
  type: 'object',
  properties: {
    issuerId: { type: 'string' },
    settings: ref('OcspSettings'),
    signedBy: { type: 'string', enum: ['delegated', 'issuer', 'unknown'] },
    activeResponder: { oneOf: [ref('OcspResponder'), { type: 'null' }] },
    cachedResponses: { type: 'integer' },
  },
};

/** The fragment merged into the admin API's OpenAPI document (ProtocolModule.openapi). */
export const ocspOpenApi = {
  tags: [{ name: 'ocsp', description: 'OCSP responder (RFC 6960, RFC 5019) and its management' }],
  paths: tagAll({
      '/ocsp': {
        post: {
          summary: 'OCSP request (RFC 6960 appendix A.1)',
          security: [],
          requestBody: { required: true, content: { 'application/ocsp-request': { schema: { type: 'string', format: 'binary' } } } },
          responses: { '200': ocspResp },
        },
      },
      '/ocsp/{request}': {
        get: {
          summary: 'OCSP request in the URL (RFC 5019 §5): base64 of the DER request, URL-encoded or not',
          security: [],
          parameters: [idParam('request', 'base64 (or base64url) of the DER OCSPRequest')],
          responses: { '200': ocspResp, '304': { description: 'Not modified (If-None-Match)' } },
        },
      },
      '/api/v1/ocsp/issuers': {
        get: { summary: 'OCSP state of every issuer', security: bearer, responses: { '200': jsonResp('Issuers', { type: 'object', properties: { issuers: { type: 'array', items: ref('OcspIssuer') }, stats: { type: 'object' } } }), '401': error } },
      },
      '/api/v1/ocsp/issuers/{id}': {
        get: { summary: 'OCSP state of one issuer', security: bearer, parameters: [idParam('id', 'issuer id')], responses: { '200': jsonResp('Issuer', ref('OcspIssuer')), '401': error, '404': error } },
      },
      '/api/v1/ocsp/issuers/{id}/settings': {
        put: {
          summary: 'Change settings (partial update; officer or administrator)',
          security: bearer,
          parameters: [idParam('id', 'issuer id')],
          requestBody: { required: true, content: { 'application/json': { schema: ref('OcspSettings') } } },
          responses: { '200': jsonResp('Effective settings', { type: 'object', properties: { issuerId: { type: 'string' }, settings: ref('OcspSettings') } }), '400': error, '401': error, '403': error, '404': error },
        },
      },
      '/api/v1/ocsp/issuers/{id}/responders': {
        get: { summary: 'Responder certificates of an issuer', security: bearer, parameters: [idParam('id', 'issuer id')], responses: { '200': jsonResp('Responders', { type: 'object', properties: { responders: { type: 'array', items: ref('OcspResponder') } } }), '401': error } },
        post: {
          summary: 'Create (or rotate) the delegated responder certificate (officer or administrator)',
          security: bearer,
          parameters: [idParam('id', 'issuer id')],
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { validityDays: { type: 'integer', minimum: 1, maximum: 365 } } } } } },
          responses: { '201': jsonResp('Created', ref('OcspResponder')), '400': error, '401': error, '403': error, '404': error, '503': error },
        },
      },
      '/api/v1/ocsp/responders/{rid}': {
        get: { summary: 'One responder', security: bearer, parameters: [idParam('rid', 'responder id')], responses: { '200': jsonResp('Responder', ref('OcspResponder')), '401': error, '404': error } },
      },
      '/api/v1/ocsp/responders/{rid}/revoke': {
        post: {
          summary: 'Revoke a responder certificate; a replacement is issued when it was active (unless replace=false)',
          security: bearer,
          parameters: [idParam('rid', 'responder id')],
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { reason: { oneOf: [{ type: 'string' }, { type: 'integer' }] }, replace: { type: 'boolean', default: true } } } } } },
          responses: { '200': jsonResp('Revoked', { type: 'object', properties: { revoked: ref('OcspResponder'), replacement: ref('OcspResponder') } }), '401': error, '403': error, '404': error, '409': error },
        },
      },
      '/api/v1/ocsp/cache/flush': {
        post: { summary: 'Drop every pre-signed response of this instance', security: bearer, responses: { '200': jsonResp('Flushed', { type: 'object', properties: { flushed: { type: 'integer' } } }), '401': error, '403': error } },
      },
  }),
  components: {
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    schemas: {
      OcspSettings: settingsSchema,
      OcspResponder: responderSchema,
      OcspIssuer: issuerSchema,
      OcspApiError: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } }, required: ['error', 'message'] },
    },
  },
};

function tagAll(paths: Record<string, Record<string, Json>>): Record<string, Record<string, Json>> {
  for (const ops of Object.values(paths)) for (const op of Object.values(ops)) op.tags = ['ocsp'];
  return paths;
}

/** A standalone document of the OCSP endpoints (served at /api/v1/ocsp/openapi.json). */
export function ocspOpenApiDocument(publicUrl: string): Json {
  return {
    openapi: '3.0.3',
    info: { title: 'Certgate OCSP responder and management', version: '1' },
    servers: [{ url: publicUrl }],
    tags: ocspOpenApi.tags,
    paths: ocspOpenApi.paths,
    components: ocspOpenApi.components,
  };
}
