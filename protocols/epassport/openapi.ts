/** OpenAPI 3.0 fragment of the ePassport admin routes and message endpoints (ProtocolModule.openapi). */
import type { OpenApiFragment } from '../../src/admin/openapi.ts';

const error = { description: 'Error', content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } } } } };
const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, ...(required.length ? { required } : {}) });
const s = { type: 'string' };
const i = { type: 'integer' };
const cert = { $ref: '#/components/schemas/CvCertificate' };

function op(summary: string, role: string, o: { body?: unknown; ok?: unknown; status?: string; params?: string[]; query?: string[] } = {}) {
  return {
    tags: ['epassport'],
    summary,
    security: [{ bearerAuth: [] }],
    'x-required-role': role,
    parameters: [
      ...(o.params ?? []).map((name) => ({ name, in: 'path', required: true, schema: s })),
      ...(o.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: s })),
    ],
    ...(o.body ? { requestBody: { required: true, content: { 'application/json': { schema: o.body } } } } : {}),
    responses: { [o.status ?? '200']: { description: 'OK', content: { 'application/json': { schema: o.ok ?? { type: 'object' } } } }, '400': error, '401': error, '403': error, '404': error, '409': error },
  };
}

const spoc = (operation: string) => ({
  post: {
    tags: ['epassport'],
    summary: `${operation} (TR-03129), JSON; no admin token`,
    security: [],
    requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/SpocMessage' } } } },
    responses: { '200': { description: 'A return code', content: { 'application/json': { schema: { $ref: '#/components/schemas/SpocResult' } } } }, '400': { description: 'failure_syntax', content: { 'application/json': { schema: { $ref: '#/components/schemas/SpocResult' } } } } },
  },
});

export const epassportOpenApi: OpenApiFragment = {
  tags: [{ name: 'epassport', description: 'ePassport CV certificates (BSI TR-03110) and SPOC messages (TR-03129)' }],
  components: {
    schemas: {
      CvCertificate: obj({ id: s, car: s, chr: s, role: s, terminalType: s, origin: s, effective: { type: 'string', format: 'date' }, expiration: { type: 'string', format: 'date' }, certificate: { type: 'string', format: 'byte' } }),
      SpocMessage: obj({ callbackIndicator: { type: 'string', enum: ['callback_possible', 'callback_not_possible'] }, messageID: s, responseURL: s, certReq: { type: 'string', format: 'byte' }, foreignCAR: s, statusInfo: s, certificateSeq: { type: 'array', items: { type: 'string', format: 'byte' } } }),
      SpocResult: obj({ returnCode: s, messageID: s, certificateSeq: { type: 'array', items: { type: 'string', format: 'byte' } }, documentSignerList: { type: 'string', format: 'byte' }, message: s }, ['returnCode']),
    },
  },
  paths: {
    '/api/v1/epassport/cvcas': { post: op('Create a CVCA (self-signed CV certificate, key in the key store)', 'administrator', { body: obj({ chr: s, curve: s, terminalType: s, validityDays: i }, ['chr']), ok: cert, status: '201' }) },
    '/api/v1/epassport/cvcas/{holder}/rollover': { post: op('New CVCA key: link and self-signed certificates', 'administrator', { params: ['holder'], body: obj({ curve: s, validityDays: i }), ok: obj({ link: cert, self: cert }), status: '201' }) },
    '/api/v1/epassport/dvs': { post: op('Create a DV that Certgate operates', 'administrator', { body: obj({ chr: s, cvca: s, role: s, rights: s, validityDays: i }, ['chr', 'cvca']), ok: cert, status: '201' }) },
    '/api/v1/epassport/authorities': { get: op("List Certgate's CVCAs and DVs", 'auditor') },
    '/api/v1/epassport/profiles': { get: op('List CV profiles', 'auditor') },
    '/api/v1/epassport/profiles/{name}': { put: op('Create or replace a CV profile', 'administrator', { params: ['name'], body: obj({ role: s, terminalType: s, chat: s, maxValidityDays: i }, ['role', 'chat']) }) },
    '/api/v1/epassport/holders': {
      get: op('List registered holders', 'auditor'),
      post: op('Register a DV or terminal (initialAllowed: one request without outer signature)', 'officer', { body: obj({ holder: s, role: s, authority: s, profile: s, initialAllowed: { type: 'boolean' } }, ['holder', 'role', 'authority', 'profile']), status: '201' }),
    },
    '/api/v1/epassport/certificates': { get: op('List CV certificates', 'auditor', { query: ['chr'], ok: obj({ certificates: { type: 'array', items: cert } }) }) },
    '/api/v1/epassport/certificates/import': { post: op('Import a foreign CVCA, link or DV certificate (verified first)', 'administrator', { body: obj({ certificate: { type: 'string', format: 'byte' } }, ['certificate']), ok: cert, status: '201' }) },
    '/api/v1/epassport/requests': { post: op('Process a CV certificate request received out of band', 'officer', { body: obj({ certReq: { type: 'string', format: 'byte' } }, ['certReq']), ok: cert, status: '201' }) },
    '/api/v1/epassport/ds-lists': { post: op('Store a Document Signer list (CMS SignedData)', 'administrator', { body: obj({ list: { type: 'string', format: 'byte' } }, ['list']), status: '201' }) },
    '/epassport/v5/requestCertificate': spoc('RequestCertificate'),
    '/epassport/v5/requestForeignCertificate': spoc('RequestForeignCertificate'),
    '/epassport/v5/getCACertificates': spoc('GetCACertificates'),
    '/epassport/v5/sendCertificates': spoc('SendCertificates'),
    '/epassport/v5/getDocumentSignerList': spoc('GetDocumentSignerList'),
  },
};
