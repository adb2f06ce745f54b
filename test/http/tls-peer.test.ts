/**
 * Client certificates and TLS channel bindings over a real HTTPS server (node:https +
 * @hono/node-server, as src/server.ts serves), checked against what the client's own TLS stack
 * computes: tls-unique on TLS 1.2 (RFC 5929, full and resumed handshakes) and tls-exporter on
 * TLS 1.3 (RFC 9266).
 */
import { request, createServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelBinding, peerCertificates } from '../../src/http/tls-peer.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { opensslOk, tempDir } from '../support/openssl.ts';

const dir = tempDir();
const file = (n: string) => join(dir, n);
const pems = (n: string) => readFileSync(file(n), 'utf8');

/** openssl: a self-signed CA, a server certificate and a client certificate it signs. */
function makePki(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  opensslOk(['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=Test Client CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  for (const who of ['server', 'client']) {
    opensslOk(['req', '-new', ...ec, '-keyout', file(`${who}.key`), '-out', file(`${who}.csr`), '-subj', `/CN=${who}`]);
    opensslOk(['x509', '-req', '-in', file(`${who}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-out', file(`${who}.pem`)]);
  }
}

interface Answer {
  peer: string[];
  binding?: { type: string; value: string };
}

describe('peer certificates and channel binding over HTTPS', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    makePki();
    const app = new Hono();
    app.get('/', (c) => {
      const b = channelBinding(c);
      return c.json({ peer: peerCertificates(c).map((d) => d.toString('hex')), binding: b && { type: b.type, value: b.value.toString('hex') } });
    });
    server = createServer(
      { key: pems('server.key'), cert: pems('server.pem'), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
      getRequestListener(app.fetch),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  /** One request on a fresh connection; returns the answer and the client's TLS socket. */
  const get = (opts: { maxVersion: 'TLSv1.2' | 'TLSv1.3'; clientCert?: boolean; chain?: boolean; session?: Buffer }) =>
    new Promise<{ answer: Answer; socket: TLSSocket; session?: Buffer }>((resolve, reject) => {
      let session: Buffer | undefined;
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          agent: false,
          rejectUnauthorized: false,
          maxVersion: opts.maxVersion,
          ...(opts.session ? { session: opts.session } : {}),
          ...(opts.clientCert ? { key: pems('client.key'), cert: pems('client.pem') + (opts.chain ? pems('ca.pem') : '') } : {}),
        },
        (res) => {
          const socket = res.socket as TLSSocket;
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ answer: JSON.parse(body), socket, session: session ?? socket.getSession() }));
        },
      );
      req.on('socket', (s) => (s as TLSSocket).on('session', (sess: Buffer) => (session = sess)));
      req.on('error', reject);
      req.end();
    });

  it('TLS 1.3: tls-exporter equals the client’s own exporter (RFC 9266 label, no context)', async () => {
    const { answer, socket } = await get({ maxVersion: 'TLSv1.3' });
    expect(socket.getProtocol()).toBe('TLSv1.3');
    expect(answer.binding?.type).toBe('tls-exporter');
    expect(answer.binding?.value).toBe(socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)).toString('hex'));
    expect(answer.binding?.value).toHaveLength(64);
  });

  it('TLS 1.2 full handshake: tls-unique is the client’s Finished (the first one sent)', async () => {
    const { answer, socket } = await get({ maxVersion: 'TLSv1.2' });
    expect(socket.getProtocol()).toBe('TLSv1.2');
    expect(socket.isSessionReused()).toBe(false);
    expect(answer.binding?.type).toBe('tls-unique');
    expect(answer.binding?.value).toBe(socket.getFinished()!.toString('hex'));
    expect(answer.binding?.value).not.toBe(socket.getPeerFinished()!.toString('hex'));
  });

  it('TLS 1.2 resumed handshake: tls-unique is the server’s Finished (sent first when resuming)', async () => {
    const first = await get({ maxVersion: 'TLSv1.2' });
    const { answer, socket } = await get({ maxVersion: 'TLSv1.2', session: first.session });
    expect(socket.isSessionReused()).toBe(true);
    expect(answer.binding?.value).toBe(socket.getPeerFinished()!.toString('hex'));
  });

  it('returns the client certificate chain leaf first, ending at the self-issued CA', async () => {
    const leaf = fromPem(pems('client.pem'))[0].toString('hex');
    const ca = fromPem(pems('ca.pem'))[0].toString('hex');
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      expect((await get({ maxVersion, clientCert: true })).answer.peer).toEqual([leaf]);
      expect((await get({ maxVersion, clientCert: true, chain: true })).answer.peer).toEqual([leaf, ca]);
      expect((await get({ maxVersion })).answer.peer).toEqual([]);
    }
  });

  it('over plain HTTP: no peer certificates and no channel binding', async () => {
    const app = new Hono();
    app.get('/', (c) => c.json({ peer: peerCertificates(c).length, binding: channelBinding(c) ?? null }));
    expect(await (await app.request('http://localhost/')).json()).toEqual({ peer: 0, binding: null });
  });
});
