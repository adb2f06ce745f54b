/** OpenAPI paths of eSign (V5) and key recovery (admin), merged into protocols/emca/openapi.ts. */
type Json = Record<string, unknown>;

const body = (schema: Json) => ({ required: true, content: { 'application/json': { schema } } });
const resp = (description: string, schema: Json = { type: 'object' }) => ({ description, content: { 'application/json': { schema } } });
const failure = resp('Failure: {status: "failure", result: <message>}');
const v5 = [{ emcaApiKey: [] }, { emcaBearer: [] }];
const admin = [{ bearer: [] }];
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });

const signer = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    signerId: { type: 'string' },
    serialNumber: { type: 'string' },
    issuerId: { type: 'string' },
    subject: { type: 'string' },
    notAfter: { type: 'string', format: 'date-time' },
    certificate: { type: 'string', description: 'base64 DER' },
  },
};

export const esignOpenApiPaths: Json = {
  '/emca/v5/esign/signers': {
    post: {
      tags: ['emCA eSign'],
      summary: 'Register a signer: Certgate generates and keeps the key, issues a document-signing certificate (idempotent per signerId)',
      security: v5,
      requestBody: body({
        type: 'object',
        required: ['signerId', 'subject'],
        properties: {
          signerId: { type: 'string', pattern: '^[A-Za-z0-9._@:-]{1,128}$', description: "The application's unique id for the signer" },
          subject: { type: 'string', description: 'RFC 4514 DN, e.g. CN=Alice,O=Acme' },
          keyAlgorithm: { type: 'string', enum: ['EC-P256', 'EC-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096'] },
          email: { type: 'string' },
          validity: { type: 'string', description: 'emCA D:H:M:S or ISO 8601 duration' },
        },
      }),
      responses: { '201': resp('Registered', signer), '200': resp('Already registered', signer), '400': failure, '401': failure },
    },
  },
  '/emca/v5/esign/signers/{signerId}': {
    get: { tags: ['emCA eSign'], summary: 'A signer of the calling application', security: v5, parameters: [idParam('signerId')], responses: { '200': resp('Signer', signer), '404': failure } },
  },
  '/emca/v5/esign/requests': {
    post: {
      tags: ['emCA eSign'],
      summary: 'Ask for a signature; a one-time code goes to the signer (webhook gateway or an officer)',
      security: v5,
      requestBody: body({
        type: 'object',
        required: ['signerId'],
        properties: {
          signerId: { type: 'string' },
          hash: { type: 'string', description: 'Document hash, hex or base64' },
          hashAlgorithm: { type: 'string', enum: ['SHA-256', 'SHA-384', 'SHA-512'] },
          document: { type: 'string', description: 'base64 PDF (instead of hash)' },
          documentType: { type: 'string', enum: ['pdf', 'xml'], description: 'pdf: PAdES B-B signed PDF back; xml: a detached CMS over the document bytes' },
        },
      }),
      responses: { '202': resp('Pending: {requestId, expiresAt, codeChannel}'), '400': failure, '404': failure, '409': failure, '413': failure, '503': failure },
    },
  },
  '/emca/v5/esign/requests/{id}/confirm': {
    post: {
      tags: ['emCA eSign'],
      summary: "The signer's code authorises the signature: a detached CMS (hash) or the PAdES-signed PDF",
      security: v5,
      parameters: [idParam('id')],
      requestBody: body({ type: 'object', required: ['code'], properties: { code: { type: 'string' } } }),
      responses: {
        '200': resp('Signed: {format: cms, signature} or {format: pades, document}, base64'),
        '401': failure,
        '404': failure,
        '409': failure,
        '410': failure,
        '423': failure,
      },
    },
  },
  '/api/v1/emca/esign/requests': { get: { tags: ['emCA eSign'], summary: 'Pending signing requests (officer)', security: admin, responses: { '200': resp('List') } } },
  '/api/v1/emca/esign/requests/{id}/code': {
    post: { tags: ['emCA eSign'], summary: 'The one-time code of a pending request, once (officer; operator channel)', security: admin, parameters: [idParam('id')], responses: { '200': resp('Code'), '404': resp('None') } },
  },
  '/api/v1/emca/key-recoveries': {
    get: { tags: ['emCA key recovery'], summary: 'Key recoveries (officer)', security: admin, responses: { '200': resp('List') } },
    post: {
      tags: ['emCA key recovery'],
      summary: 'Ask for the re-issue of a kept PKCS#12 under a new (or its old) password (officer)',
      security: admin,
      requestBody: body({
        type: 'object',
        required: ['serialNumber', 'reason'],
        properties: { serialNumber: { type: 'string' }, issuerId: { type: 'string' }, reason: { type: 'string' }, newPassword: { type: 'string', description: '4-128 printable ASCII, no quotes; absent = old password' } },
      }),
      responses: { '201': resp('Pending'), '400': resp('Invalid'), '404': resp('No kept PKCS#12'), '409': resp('Ambiguous serial') },
    },
  },
  '/api/v1/emca/key-recoveries/{id}/approve': {
    post: { tags: ['emCA key recovery'], summary: 'Approve (an officer other than the requester); returns the PKCS#12 once', security: admin, parameters: [idParam('id')], responses: { '200': resp('{…, pkcs12: base64}'), '403': resp('Requester'), '409': resp('Not pending') } },
  },
  '/api/v1/emca/key-recoveries/{id}/reject': {
    post: { tags: ['emCA key recovery'], summary: 'Reject (officer)', security: admin, parameters: [idParam('id')], responses: { '200': resp('Rejected'), '409': resp('Not pending') } },
  },
};
