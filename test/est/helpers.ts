/**
 * An EST server on a real HTTPS listener (fresh test context), a node:https client that can
 * present client certificates, and a PKCS#10 builder that can put a channel binding in the
 * challengePassword.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { request, Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { estProtocol } from '../../protocols/est/index.ts';
import { bitString, implicitConstructed, integer, oid, seq, set, utf8String } from '../../src/pki/der.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, toEncodedAttributes } from '../../src/pki/name.ts';
import { signatureAlgorithmFor } from '../../src/pki/certificate.ts';
import { toPem } from '../../src/pki/pem.ts';
import type { Identifier, SubjectAttribute } from '../../src/issuance/request.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTestContext, type Driver, type TestContext } from '../support/context.ts';

export interface EstHarness {
  t: TestContext;
  server: RunningServer;
  url: string;
  rootPem: string;
  close(): Promise<void>;
}

export async function startEst(driver: Driver, env: Record<string, string> = {}): Promise<EstHarness> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const t = await makeTestContext(driver);
  const server = await startServer(t.ctx, [estProtocol]);
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  const root = t.ctx.issuers.list().find((i) => i.isRoot)!;
  return {
    t,
    server,
    url: server.httpsUrl!,
    rootPem: toPem(root.certDer, 'CERTIFICATE'),
    async close() {
      await server.stop();
      await t.cleanup();
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export interface CallOptions {
  method?: string;
  body?: string | Buffer;
  contentType?: string;
  basic?: [string, string];
  cert?: { key: KeyObject; certDer: Uint8Array[] };
  /** Maximum TLS version (TLS 1.2 gives tls-unique). */
  tls?: 'TLSv1.2' | 'TLSv1.3';
  /** Builds the body once the TLS session exists (channel binding). */
  bodyFor?: (binding: Buffer) => string;
  headers?: Record<string, string>;
}

/** One request over a fresh TLS connection. */
export function call(h: EstHarness, path: string, o: CallOptions = {}): Promise<Reply> {
  const u = new URL(path, h.url);
  const agent = new Agent({ keepAlive: false, maxCachedSessions: 0 });
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.contentType) headers['content-type'] = o.contentType;
    if (o.basic) headers.authorization = `Basic ${Buffer.from(`${o.basic[0]}:${o.basic[1]}`).toString('base64')}`;
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: o.method ?? (o.body || o.bodyFor ? 'POST' : 'GET'),
        headers,
        ca: h.rootPem,
        agent,
        maxVersion: o.tls ?? 'TLSv1.3',
        key: o.cert ? o.cert.key.export({ format: 'pem', type: 'pkcs8' }) : undefined,
        cert: o.cert ? o.cert.certDer.map((d) => toPem(d, 'CERTIFICATE')).join('') : undefined,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    if (o.bodyFor) {
      req.on('socket', (s) => {
        const sock = s as TLSSocket;
        const go = () => {
          const binding = sock.getProtocol() === 'TLSv1.3' ? sock.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)) : sock.getFinished()!;
          const b = o.bodyFor!(binding);
          req.setHeader('content-length', Buffer.byteLength(b));
          req.end(b);
        };
        if (sock.authorized !== undefined && (sock as TLSSocket & { _secureEstablished?: boolean })._secureEstablished) go();
        else sock.once('secureConnect', go);
      });
    } else req.end(o.body);
  });
}

export type KeyKind = 'P-256' | 'RSA-2048' | 'Ed25519';
export function newKey(kind: KeyKind = 'P-256'): { privateKey: KeyObject; publicKey: KeyObject } {
  if (kind === 'RSA-2048') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (kind === 'Ed25519') return generateKeyPairSync('ed25519');
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

const CHALLENGE_PASSWORD = '1.2.840.113549.1.9.7';
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/**
 * A PKCS#10 (RFC 2986) signed by `key`; `corrupt` flips a signature bit. Without `sans`, the CN
 * is also a dNSName SAN (the device profile issues TLS certificates, which need one).
 */
export function makeCsr(o: {
  key: { privateKey: KeyObject; publicKey: KeyObject };
  subject: SubjectAttribute[];
  sans?: Identifier[];
  challengePassword?: string;
  /** Further Attribute SEQUENCEs (DER). */
  attributes?: Buffer[];
  corrupt?: boolean;
}): Buffer {
  const attrs: Buffer[] = [];
  const cn = o.subject.find((a) => a.type === 'CN')?.value;
  const sans = o.sans ?? (cn ? [{ type: 'dns' as const, value: cn }] : []);
  if (o.challengePassword !== undefined) attrs.push(seq(oid(CHALLENGE_PASSWORD), set(utf8String(o.challengePassword))));
  if (sans.length) attrs.push(seq(oid(EXTENSION_REQUEST), set(seq(subjectAltName(sans)))));
  attrs.push(...(o.attributes ?? []));
  const info = seq(
    integer(0),
    encodeName(toEncodedAttributes(o.subject)),
    o.key.publicKey.export({ format: 'der', type: 'spki' }),
    implicitConstructed(0, ...attrs),
  );
  const alg = signatureAlgorithmFor(o.key.privateKey);
  const sig = sign(alg.hash, info, o.key.privateKey);
  if (o.corrupt) sig[sig.length - 1] ^= 1;
  return seq(info, alg.algorithmIdentifier, bitString(sig));
}

export const b64 = (der: Uint8Array, lineLength = 0): string => {
  const s = Buffer.from(der).toString('base64');
  return lineLength ? (s.match(new RegExp(`.{1,${lineLength}}`, 'g')) ?? []).join('\r\n') + '\r\n' : s;
};

