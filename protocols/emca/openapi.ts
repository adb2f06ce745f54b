/**
 * OpenAPI 3.0 fragment for the emCA endpoints, for the lead to merge into the server's document.
 * Paths are absolute from the server root (the V4 and V5 APIs are not under /api/v1); the admin
 * client endpoints are under /api/v1/emca/clients.
 */
import { finishOpenApi } from '../../src/admin/openapi-finish.ts';
import { v4MethodPaths } from './v4.ts';
import { esignOpenApiPaths } from './esign/openapi.ts';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonBody = (schema: Json, required = true) => ({ required, content: { 'application/json': { schema } } });
const jsonResp = (description: string, schema: Json) => ({ description, content: { 'application/json': { schema } } });
const failure = jsonResp('Failure', ref('EmcaV5Failure'));
const v5Security = [{ emcaApiKey: [] }, { emcaBearer: [] }];

const issued = {
  '200': jsonResp('Replay of an applicationId: the stored result', ref('EmcaV5Issued')),
  '201': jsonResp('Issued', ref('EmcaV5Issued')),
  '202': jsonResp('Held for manual authorization', ref('EmcaV5Issued')),
  '400': failure,
  '401': failure,
};

const serialParam = { name: 'serial', in: 'path', required: true, schema: { type: 'string' }, description: 'Hexadecimal serial number (leading zeros optional)' };

const v4Paths: Json = Object.fromEntries(
  v4MethodPaths.map((m) => [
    `/emCAServices/rest/${m}`,
    {
      post: {
        tags: ['emCA V4'],
        summary: `emCA Open API V4.0.17 ${m}`,
        description:
          'Body: the envelope; `requestData` is base64 of AES-256 (client mode: ECB/PKCS#7, or CBC/GCM with the IV in front) over the inner JSON ' +
          '(userName, password, signature = base64 CMS SignedData by the client signing certificate, and the method parameters). ' +
          'Every processed request answers HTTP 200 with the envelope; 413 when the body exceeds CERTGATE_EMCA_BODY_LIMIT.',
        operationId: `v4_${m}`,
        security: [{ emKey: [] }],
        requestBody: jsonBody(ref('EmcaV4Request')),
        responses: {
          '200': jsonResp('Success or business failure', ref('EmcaV4Envelope')),
          '413': jsonResp('Body too large', ref('EmcaV4Envelope')),
        },
      },
    },
  ]),
);

const idParam = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const caParam = idParam('id', 'CA (issuer) id');
const ridParam = idParam('rid', 'OCSP responder id');
const roleNote = (role: string) => ` Needs a V5 token of a client with the ${role} role (403 otherwise).`;
const manageResp = (ok: string, code = '200') => ({ [code]: jsonResp(ok, { type: 'object' }), '400': failure, '401': failure, '403': failure, '404': failure, '409': failure });

/** V5 CA Management and OCSP Management (protocols/emca/v5-manage.ts). */
const v5ManagePaths: Json = {
  '/emca/v5/cas/{id}': {
    get: { tags: ['emCA V5 CA Management'], operationId: 'v5_getCA', summary: 'A CA: certificate, status, CRL settings and latest CRL.' + roleNote('auditor'), security: v5Security, parameters: [caParam], responses: manageResp('CA') },
  },
  '/emca/v5/cas/import': {
    post: {
      tags: ['emCA V5 CA Management'],
      operationId: 'v5_importCertificate',
      summary: 'Import a CA certificate and its private key (kept sealed, never returned).' + roleNote('administrator'),
      security: v5Security,
      requestBody: jsonBody({ type: 'object', required: ['id', 'certificatePem', 'privateKeyPem'], properties: { id: { type: 'string' }, name: { type: 'string' }, certificatePem: { type: 'string' }, privateKeyPem: { type: 'string' }, parentId: { type: 'string' }, default: { type: 'boolean' } } }),
      responses: manageResp('Imported', '201'),
    },
  },
  '/emca/v5/cas/{id}/crl': {
    get: { tags: ['emCA V5 CA Management'], operationId: 'v5_getCrl', summary: 'The latest complete CRL (DER, base64).' + roleNote('auditor'), security: v5Security, parameters: [caParam], responses: manageResp('CRL') },
  },
  '/emca/v5/cas/{id}/crl-settings': {
    put: {
      tags: ['emCA V5 CA Management'],
      operationId: 'v5_createOrUpdateCrl',
      summary: 'CRL settings: validity hours, delta CRL hours, partitions.' + roleNote('officer'),
      security: v5Security,
      parameters: [caParam],
      requestBody: jsonBody({ type: 'object', properties: { crlValidityHours: { type: 'number' }, deltaCrlHours: { type: 'number' }, crlPartitions: { type: 'integer' } } }),
      responses: manageResp('Settings'),
    },
  },
  '/emca/v5/ocsp/cas/{id}': {
    get: { tags: ['emCA V5 OCSP Management'], operationId: 'v5_getOcspStatus', summary: "Who signs the CA's OCSP answers, its OCSP settings and active responder." + roleNote('auditor'), security: v5Security, parameters: [caParam], responses: manageResp('OCSP state') },
  },
  '/emca/v5/ocsp/cas/{id}/settings': {
    put: {
      tags: ['emCA V5 OCSP Management'],
      operationId: 'v5_configureOcsp',
      summary: 'OCSP settings of a CA: signing (delegated | issuer), response validity and caching, nonce, responder rotation.' + roleNote('officer'),
      security: v5Security,
      parameters: [caParam],
      requestBody: jsonBody({
        type: 'object',
        properties: {
          signing: { type: 'string', enum: ['delegated', 'issuer'] },
          validitySeconds: { type: 'integer' },
          refreshFraction: { type: 'number' },
          maxAgeSeconds: { type: 'integer' },
          nonce: { type: 'string', enum: ['sign', 'ignore'] },
          responderValidityDays: { type: 'integer' },
          rotateFraction: { type: 'number' },
          responderKey: { type: 'string', enum: ['issuer', 'ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'] },
        },
      }),
      responses: manageResp('Settings'),
    },
  },
  '/emca/v5/ocsp/responders': {
    get: { tags: ['emCA V5 OCSP Management'], operationId: 'v5_listOcspResponders', summary: 'OCSP responder certificates.' + roleNote('auditor'), security: v5Security, parameters: [{ name: 'caId', in: 'query', required: false, schema: { type: 'string' } }], responses: manageResp('Responders') },
    post: {
      tags: ['emCA V5 OCSP Management'],
      operationId: 'v5_createOcspResponder',
      summary: "Issue an OCSP responder certificate for a CA and map it (it signs the CA's answers)." + roleNote('officer'),
      security: v5Security,
      requestBody: jsonBody({ type: 'object', required: ['caId'], properties: { caId: { type: 'string' }, validityDays: { type: 'integer', minimum: 1, maximum: 365 } } }),
      responses: manageResp('Responder', '201'),
    },
  },
  '/emca/v5/ocsp/responders/{rid}': {
    get: { tags: ['emCA V5 OCSP Management'], operationId: 'v5_getOcspResponder', summary: 'One OCSP responder certificate.' + roleNote('auditor'), security: v5Security, parameters: [ridParam], responses: manageResp('Responder') },
  },
  '/emca/v5/ocsp/responders/{rid}/rotate': {
    post: { tags: ['emCA V5 OCSP Management'], operationId: 'v5_rotateOcspResponder', summary: 'A new responder certificate for the same CA replaces this one.' + roleNote('officer'), security: v5Security, parameters: [ridParam], responses: manageResp('Responder', '201') },
  },
  '/emca/v5/ocsp/responders/{rid}/map': {
    post: { tags: ['emCA V5 OCSP Management'], operationId: 'v5_mapOcspResponder', summary: 'Map a still-valid responder certificate to its CA again.' + roleNote('officer'), security: v5Security, parameters: [ridParam], responses: manageResp('Responder') },
  },
  '/emca/v5/ocsp/responders/{rid}/revoke': {
    post: {
      tags: ['emCA V5 OCSP Management'],
      operationId: 'v5_revokeOcspResponder',
      summary: 'Revoke a responder certificate (listed on the CRL); `replace` issues a new one at once.' + roleNote('officer'),
      security: v5Security,
      parameters: [ridParam],
      requestBody: jsonBody({ type: 'object', properties: { reason: { type: 'string', description: 'RFC 5280 reason name or code; default superseded' }, replace: { type: 'boolean' } } }, false),
      responses: manageResp('Revoked'),
    },
  },
};

/** Every operation gets an operationId (`<method>_<path>` where none is given) and a declared security. */
function complete(paths: Json): Json {
  const out: Json = {};
  for (const [path, item] of Object.entries(paths)) {
    const ops: Json = {};
    for (const [method, op] of Object.entries(item as Json)) {
      const o = { ...(op as Json) };
      o.operationId ??= `${method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ''))}`;
      o.security ??= [];
      const responses = (o.responses ?? {}) as Json;
      if (!Object.keys(responses).some((k) => k.startsWith('4'))) o.responses = { ...responses, '401': { description: 'Not authenticated (or not allowed)' } };
      ops[method] = o;
    }
    out[path] = ops;
  }
  return out;
}

export const emcaOpenApi: { paths: Json; components: { schemas: Json; securitySchemes: Json } } = {
  paths: complete({
    ...v4Paths,
    ...esignOpenApiPaths,
    '/emca/v5/auth/token': {
      post: {
        tags: ['emCA V5'],
        operationId: 'v5_getToken',
        summary: 'Token for the V5 API (JWT, HS256)',
        security: [],
        parameters: [{ name: 'X-Nonce', in: 'header', required: false, schema: { type: 'string' }, description: 'Optional; refused when reused within 5 minutes' }],
        requestBody: jsonBody({
          type: 'object',
          required: ['username', 'password'],
          properties: {
            username: { type: 'string' },
            password: { type: 'string' },
            clientId: { type: 'string', description: 'The client id (or userName) given at registration' },
            validityInMins: { type: 'integer', minimum: 1, default: 60 },
          },
        }),
        responses: {
          '200': jsonResp('Token', {
            type: 'object',
            properties: { status: { type: 'string' }, token: { type: 'string' }, tokenType: { type: 'string' }, expiresIn: { type: 'integer' }, expiresAt: { type: 'string', format: 'date-time' } },
          }),
          '400': failure,
          '401': failure,
        },
      },
    },
    '/emca/v5/certificates': {
      post: {
        tags: ['emCA V5'],
        summary: 'createCertificates: issue from a CSR',
        security: v5Security,
        requestBody: jsonBody({
          type: 'object',
          required: ['csr', 'applicationId'],
          properties: {
            profileName: { type: 'string' },
            profileId: { type: 'string' },
            csr: { type: 'string', description: 'PKCS#10: base64 DER or PEM' },
            applicationId: { type: 'string', description: 'Idempotency key' },
            subscriberId: { type: 'string' },
            validity: { type: 'string', description: 'D:H:M:S' },
            validFrom: { type: 'string', description: 'dd:MM:yyyy HH:mm:ss (UTC)' },
            format: { type: 'string', enum: ['cer', 'p7b'] },
          },
        }),
        responses: issued,
      },
    },
    '/emca/v5/keystores': {
      post: {
        tags: ['emCA V5'],
        summary: 'createKeyStore: server-generated key in a PKCS#12',
        security: v5Security,
        requestBody: jsonBody({
          type: 'object',
          required: ['applicationId'],
          properties: {
            profileName: { type: 'string' },
            profileId: { type: 'string' },
            subject: { type: 'string', description: 'e.g. CN=Alice,O=Acme' },
            keyAlgorithm: { type: 'string', enum: ['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384'] },
            password: { type: 'string', description: 'PKCS#12 password' },
            content: { type: 'string', description: 'Alternative: the V4 createPKCS12 string (KEY=value~…~KeyAlogirthmAndSize=…~Password=…)' },
            applicationId: { type: 'string' },
            subscriberId: { type: 'string' },
            validity: { type: 'string' },
            validFrom: { type: 'string' },
          },
        }),
        responses: issued,
      },
    },
    '/emca/v5/certificates/{serial}': {
      get: { tags: ['emCA V5'], summary: 'getCertInfo / getCertificate', security: v5Security, parameters: [serialParam], responses: { '200': jsonResp('Certificate', { type: 'object' }), '404': failure } },
    },
    '/emca/v5/certificates/{serial}/chain': {
      get: { tags: ['emCA V5'], summary: 'getCertificateChain (P7B and PEM)', security: v5Security, parameters: [serialParam], responses: { '200': jsonResp('Chain', { type: 'object' }), '404': failure } },
    },
    '/emca/v5/certificates/{serial}/revoke': {
      post: {
        tags: ['emCA V5'],
        summary: 'revoke (revokeMode 0-5, 9, 10)',
        security: v5Security,
        parameters: [serialParam],
        requestBody: jsonBody({ type: 'object', properties: { revokeMode: { type: 'integer' }, remarks: { type: 'string' } } }, false),
        responses: { '200': jsonResp('Revoked', ref('EmcaV5Failure')), '404': failure, '409': failure },
      },
    },
    '/emca/v5/certificates/{serial}/suspend': {
      post: { tags: ['emCA V5'], summary: 'suspend (certificateHold)', security: v5Security, parameters: [serialParam], responses: { '200': jsonResp('Suspended', ref('EmcaV5Failure')), '404': failure, '409': failure } },
    },
    '/emca/v5/certificates/{serial}/reinstate': {
      post: { tags: ['emCA V5'], summary: 'reinstate a suspended certificate', security: v5Security, parameters: [serialParam], responses: { '200': jsonResp('Reinstated', ref('EmcaV5Failure')), '404': failure, '409': failure } },
    },
    '/emca/v5/certificates/{serial}/rekey': {
      post: {
        tags: ['emCA V5'],
        summary: 'rekey: new key (CSR), same subject and profile; the old certificate is superseded',
        security: v5Security,
        parameters: [serialParam],
        requestBody: jsonBody({ type: 'object', required: ['csr', 'applicationId'], properties: { csr: { type: 'string' }, applicationId: { type: 'string' }, validFrom: { type: 'string' } } }),
        responses: issued,
      },
    },
    '/emca/v5/requests/{id}': {
      get: { tags: ['emCA V5'], summary: 'State of a request held for manual authorization', security: v5Security, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': jsonResp('State', { type: 'object' }), '404': failure } },
    },
    '/emca/v5/profiles': { get: { tags: ['emCA V5'], summary: 'getProfiles', security: v5Security, responses: { '200': jsonResp('Profiles', { type: 'object' }) } } },
    '/emca/v5/profiles/{name}': {
      get: { tags: ['emCA V5'], summary: 'getProfileInfo (by name or numeric id)', security: v5Security, parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': jsonResp('Profile', { type: 'object' }), '400': failure } },
    },
    '/emca/v5/cas': {
      get: { tags: ['emCA V5'], operationId: 'v5_getCAs', summary: 'getCAs', security: v5Security, responses: { '200': jsonResp('CAs', { type: 'object' }) } },
      post: {
        tags: ['emCA V5 CA Management'],
        operationId: 'v5_createCA',
        summary: 'createCA: a root or subordinate CA with a generated key.' + roleNote('administrator'),
        security: v5Security,
        requestBody: jsonBody({
          type: 'object',
          required: ['id', 'name'],
          properties: {
            id: { type: 'string', description: 'a-z 0-9 -, used in URLs' },
            name: { type: 'string' },
            subject: { type: 'string', description: 'RFC 4514 DN; default CN=<name>' },
            parentId: { type: 'string', description: 'signing CA; absent = root' },
            keyType: { type: 'string', enum: ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] },
            validityDays: { type: 'integer', default: 3650 },
            pathLength: { type: 'integer' },
            default: { type: 'boolean' },
          },
        }),
        responses: manageResp('Created', '201'),
      },
    },
    '/emca/v5/verify': {
      post: {
        tags: ['emCA V5'],
        summary: 'verifySignature: CMS SignedData by a certificate of this CA, unexpired, not revoked',
        security: v5Security,
        requestBody: jsonBody({ type: 'object', required: ['signature'], properties: { signature: { type: 'string', description: 'base64 CMS SignedData (attached content)' } } }),
        responses: { '200': jsonResp('Verified', ref('EmcaV5Failure')), '400': failure },
      },
    },
    ...v5ManagePaths,
    '/api/v1/emca/clients': {
      get: { tags: ['emCA clients'], summary: 'List emCA clients (no secrets)', security: [{ bearer: [] }], responses: { '200': jsonResp('Clients', { type: 'object' }) } },
      post: {
        tags: ['emCA clients'],
        summary: 'Register an emCA client; the secrets are returned once (administrator)',
        security: [{ bearer: [] }],
        requestBody: jsonBody({
          type: 'object',
          required: ['name', 'ips'],
          properties: {
            name: { type: 'string' },
            ips: { type: 'array', items: { type: 'string' }, description: 'IP addresses or CIDR ranges' },
            profiles: { type: 'array', items: { type: 'string' } },
            aesMode: { type: 'string', enum: ['ECB', 'CBC', 'GCM'] },
            legacyPfx: { type: 'boolean' },
            emKey: { type: 'string' },
            signingValidity: { type: 'string' },
            signingKey: { type: 'string', enum: ['EC-P256', 'RSA-2048'] },
          },
        }),
        responses: { '201': jsonResp('Secrets (once)', ref('EmcaClientSecrets')), '400': { description: 'Invalid input' }, '409': { description: 'Name in use' } },
      },
    },
    '/api/v1/emca/clients/{ref}': {
      get: { tags: ['emCA clients'], summary: 'One client (id or userName)', security: [{ bearer: [] }], parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'Client' }, '404': { description: 'Unknown' } } },
      patch: {
        tags: ['emCA clients'],
        summary: 'Change ips, profiles, aesMode, legacyPfx (administrator)',
        security: [{ bearer: [] }],
        parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: jsonBody({ type: 'object' }),
        responses: { '200': { description: 'Client' } },
      },
    },
    '/api/v1/emca/clients/{ref}/disable': { post: { tags: ['emCA clients'], summary: 'Disable (administrator)', security: [{ bearer: [] }], parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'Client' } } } },
    '/api/v1/emca/clients/{ref}/enable': { post: { tags: ['emCA clients'], summary: 'Enable (administrator)', security: [{ bearer: [] }], parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'Client' } } } },
    '/api/v1/emca/clients/{ref}/rotate': {
      post: { tags: ['emCA clients'], summary: 'New password, emKey, AES key and signing PKCS#12 (administrator); returned once', security: [{ bearer: [] }], parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': jsonResp('Secrets (once)', ref('EmcaClientSecrets')) } },
    },
  }),
  components: {
    schemas: {
      EmcaV4Request: {
        type: 'object',
        required: ['userName'],
        properties: {
          requestData: { type: 'string', description: 'base64 AES-256 ciphertext of the inner JSON' },
          encodedString: { type: 'string', description: 'Alias of requestData' },
          userName: { type: 'string' },
        },
      },
      EmcaV4Envelope: {
        type: 'object',
        properties: {
          status: { type: 'string', description: 'success | failure | Pending' },
          result: { type: 'string', nullable: true },
          subscriberId: { type: 'string', nullable: true },
          requestId: { type: 'string', nullable: true },
        },
      },
      EmcaV5Issued: {
        type: 'object',
        properties: {
          status: { type: 'string' },
          result: { type: 'string', description: 'base64 DER certificate, P7B or PKCS#12' },
          serialNumber: { type: 'string' },
          issuerId: { type: 'string' },
          requestId: { type: 'string', nullable: true },
        },
      },
      EmcaV5Failure: { type: 'object', properties: { status: { type: 'string' }, result: { type: 'string' } } },
      EmcaClientSecrets: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          userName: { type: 'string' },
          password: { type: 'string' },
          emKey: { type: 'string' },
          aesKey: { type: 'string', description: 'base64 of 32 bytes' },
          aesMode: { type: 'string' },
          pfx: { type: 'string', description: 'base64 PKCS#12 (signing key and certificate)' },
          pfxPassword: { type: 'string' },
          signingSerial: { type: 'string' },
          signingIssuerId: { type: 'string' },
        },
      },
    },
    securitySchemes: {
      emKey: { type: 'apiKey', in: 'header', name: 'emKey', description: 'emCA Open API V4 authentication key (GenerateAuthenticationKey.jar)' },
      emcaApiKey: { type: 'apiKey', in: 'header', name: 'X-Emca-Api-Key' },
      emcaBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    },
  },
};

/** A complete OpenAPI 3.0 document of the emCA endpoints alone (served at `/emca/openapi.json`). */
export function emcaOpenApiDocument(serverUrl: string): Json {
  return finishOpenApi({
    openapi: '3.0.3',
    info: {
      title: 'Certgate emCA-compatible API',
      version: '1',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      description: 'eMudhra emCA Open API V4.0.17 (`/emCAServices/rest/*`), the V5 JSON API (`/emca/v5/*`) and the emCA client admin API. Departures: protocols/emca/DIVERGENCES.md.',
    },
    servers: [{ url: serverUrl }],
    paths: emcaOpenApi.paths,
    components: { ...emcaOpenApi.components, securitySchemes: { ...emcaOpenApi.components.securitySchemes, bearer: { type: 'http', scheme: 'bearer' } } },
  });
}
