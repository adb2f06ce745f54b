/** An ePassport server over real HTTP on a fresh test context, with admin and message helpers. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEpassportProtocol } from '../../protocols/epassport/index.ts';
import type { EpassportSettingsInput } from '../../protocols/epassport/settings.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTestContext, type Driver, type TestContext } from '../support/context.ts';

export interface EpassportHarness {
  t: TestContext;
  server: RunningServer;
  admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** POST /epassport/v5/<op> with a JSON body. */
  msg(op: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> & { returnCode: string; certificateSeq?: string[] } }>;
  raw(path: string, init: RequestInit): Promise<{ status: number; text: string; type: string }>;
  close(): Promise<void>;
}

export async function startEpassport(driver: Driver, settings: EpassportSettingsInput = {}): Promise<EpassportHarness> {
  const t = await makeTestContext(driver);
  const server = await startServer(t.ctx, [createEpassportProtocol(settings, {})]);
  const op = await t.ctx.tokens.ensureOperator('test-admin', 'administrator');
  const token = await t.ctx.tokens.issue(op, 3600);
  const base = server.httpUrl;
  return {
    t,
    server,
    async admin(method, path, body) {
      const r = await fetch(`${base}/api/v1/epassport${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as never };
    },
    async msg(op, body) {
      const r = await fetch(`${base}/epassport/v5/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as never };
    },
    async raw(path, init) {
      const r = await fetch(`${base}${path}`, init);
      return { status: r.status, text: await r.text(), type: r.headers.get('content-type') ?? '' };
    },
    async close() {
      await server.stop();
      await t.cleanup();
    },
  };
}

/** A local receiver for SendCertificates callbacks. */
export async function startReceiver(): Promise<{ url: string; seen: Record<string, unknown>[]; next(): Promise<Record<string, unknown>>; close(): Promise<void> }> {
  const seen: Record<string, unknown>[] = [];
  const waiters: ((v: Record<string, unknown>) => void)[] = [];
  let taken = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(text) as Record<string, unknown>;
      } catch {
        j = { raw: text, soapaction: req.headers.soapaction };
      }
      seen.push(j);
      const w = waiters.shift();
      if (w) {
        taken++;
        w(j);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"returnCode":"ok_received_correctly"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    seen,
    next: () => (taken < seen.length ? Promise.resolve(seen[taken++]) : new Promise((r) => waiters.push(r))),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
