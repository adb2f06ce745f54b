/**
 * newNonce over a real HTTPS server (RFC 8555 §7.2): HEAD answers 200 and GET 204, each with a
 * Replay-Nonce and no caching; HEAD carries its (zero) length, so node's http client keeps the
 * connection (without a length it closes it after the answer — a new TLS handshake per nonce).
 */
import { Agent, request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAcmeProtocol } from '../../protocols/acme/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { toPem } from '../../src/pki/pem.ts';
import { makeTestContext, type TestContext } from '../support/context.ts';

describe('ACME newNonce over HTTPS', () => {
  let t: TestContext;
  let server: RunningServer;
  let agent: Agent;

  beforeAll(async () => {
    t = await makeTestContext('pglite');
    server = await startServer(t.ctx, [createAcmeProtocol({}, {})], { https: true });
    const root = toPem(t.ctx.issuers.peek('dev-root')!.certDer, 'CERTIFICATE');
    agent = new Agent({ keepAlive: true, maxSockets: 1, ca: root });
  });
  afterAll(async () => {
    agent?.destroy();
    await server?.stop();
    await t?.cleanup();
  });

  const nonce = (method: 'HEAD' | 'GET') =>
    new Promise<{ status: number; headers: Record<string, unknown>; reused: boolean }>((resolve, reject) => {
      const req = request(`${server.httpsUrl}/acme/new-nonce`, { method, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, reused: req.reusedSocket }));
      });
      req.on('error', reject);
      req.end();
    });

  it('answers HEAD 200 and GET 204 with a fresh nonce each, on one kept-alive connection', async () => {
    const seen = new Set<string>();
    const answers = [];
    for (const m of ['HEAD', 'HEAD', 'GET', 'HEAD'] as const) answers.push({ m, ...(await nonce(m)) });
    for (const a of answers) {
      expect(a.status).toBe(a.m === 'HEAD' ? 200 : 204);
      expect(a.headers['replay-nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(a.headers['cache-control']).toBe('no-store');
      seen.add(a.headers['replay-nonce'] as string);
    }
    expect(seen.size).toBe(answers.length);
    expect(answers[0].headers['content-length']).toBe('0');
    // The first request opened the connection; every later one reused it.
    expect(answers.map((a) => a.reused)).toEqual([false, true, true, true]);
  });
});
