/** emCA eSign with the webhook code channel: the code goes to the gateway, never to the application. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/app-env.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { adminToken, makeApp, register, removeTempDirs, type Registered } from './helpers.ts';

afterAll(() => removeTempDirs());

for (const driver of drivers) {
  describe(`emCA eSign, webhook code channel (${driver})`, () => {
    let t: TestContext;
    let app: Hono<AppEnv>;
    let client: Registered;
    let gateway: Server;
    let answer = 200;
    const received: Record<string, string>[] = [];
    const env = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const r = await app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) }, env);
      return { status: r.status, text: await r.text() };
    };

    beforeAll(async () => {
      gateway = createServer((req, res) => {
        let b = '';
        req.on('data', (d) => (b += d));
        req.on('end', () => {
          received.push(JSON.parse(b));
          res.statusCode = answer;
          res.end();
        });
      });
      await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
      process.env.CERTGATE_EMCA_ESIGN_CODE_WEBHOOK = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/codes`;
      try {
        t = await makeTestContext(driver);
        app = await makeApp(t.ctx);
      } finally {
        delete process.env.CERTGATE_EMCA_ESIGN_CODE_WEBHOOK;
      }
      client = await register(app, await adminToken(t.ctx), { name: 'hook-app', ips: ['127.0.0.0/8'] });
    });
    afterAll(async () => {
      gateway?.close();
      await t?.cleanup();
    });

    it('delivers the code to the gateway only; the signer code signs; a refusing gateway fails the request', async () => {
      const tok = JSON.parse((await post('/emca/v5/auth/token', { username: 'hook-app', password: client.password })).text).token as string;
      const h = { Authorization: `Bearer ${tok}` };
      expect((await post('/emca/v5/esign/signers', { signerId: 'dora', subject: 'CN=Dora' }, h)).status).toBe(201);
      const r = await post('/emca/v5/esign/requests', { signerId: 'dora', hash: createHash('sha256').update('x').digest('hex') }, h);
      expect(r.status).toBe(202);
      const body = JSON.parse(r.text) as { requestId: string; codeChannel: string };
      expect(body.codeChannel).toBe('webhook');
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ event: 'emca.esign.code', requestId: body.requestId, signerId: 'dora', clientId: client.id });
      const code = received[0].code;
      expect(code).toMatch(/^\d{8}$/);
      expect(r.text).not.toContain(code);
      // No operator copy in this channel.
      const op = await app.request(`/api/v1/emca/esign/requests/${body.requestId}/code`, { method: 'POST', headers: { Authorization: `Bearer ${await adminToken(t.ctx, 'officer')}` } }, env);
      expect(op.status).toBe(404);
      const done = await post(`/emca/v5/esign/requests/${body.requestId}/confirm`, { code }, h);
      expect(done.status).toBe(200);

      answer = 500;
      const failed = await post('/emca/v5/esign/requests', { signerId: 'dora', hash: createHash('sha256').update('y').digest('hex') }, h);
      expect(failed.status).toBe(503);
      expect(JSON.parse(failed.text).result).toBe('Authorisation code could not be delivered');
      const id = received[1].requestId;
      const late = await post(`/emca/v5/esign/requests/${id}/confirm`, { code: received[1].code }, h);
      expect(late.status).toBe(423);

      // At most ten open requests per signer: each one texts the signer a code.
      answer = 200;
      for (let i = 0; i < 10; i++) expect((await post('/emca/v5/esign/requests', { signerId: 'dora', hash: createHash('sha256').update(`n${i}`).digest('hex') }, h)).status).toBe(202);
      const flood = await post('/emca/v5/esign/requests', { signerId: 'dora', hash: createHash('sha256').update('n10').digest('hex') }, h);
      expect(flood.status).toBe(429);
      expect(JSON.parse(flood.text).result).toBe('Too many pending signing requests for this signer');
      expect(received).toHaveLength(12);
    });
  });
}
