/** A SCEP server over real HTTP on a fresh test context, with the Node client's helpers around it. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createScepProtocol } from '../../protocols/scep/index.ts';
import type { ScepSettingsInput } from '../../protocols/scep/settings.ts';
import { parseSignedData } from '../../src/pki/cms.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTestContext, type Driver, type TestContext } from '../support/context.ts';
import { removeTempDirs, tempDir, writePem } from '../support/openssl.ts';

export const CHALLENGE = 'test-challenge-1';

export interface ScepHarness {
  t: TestContext;
  server: RunningServer;
  /** http://127.0.0.1:<port>/scep */
  url: string;
  /** The RA certificate (first of GetCACert) and the CA chain above it. */
  ra: Buffer;
  chain: Buffer[];
  dir: string;
  rootFile: string;
  /** RA + chain as PEM (openssl -untrusted / -certfile). */
  chainFile: string;
  post(path: string, body: Uint8Array, headers?: Record<string, string>): Promise<{ status: number; type: string; body: Buffer }>;
  get(pathAndQuery: string): Promise<{ status: number; type: string; body: Buffer }>;
  close(): Promise<void>;
}

export async function startScep(driver: Driver, settings: ScepSettingsInput = {}, opts: { https?: boolean } = {}): Promise<ScepHarness> {
  const t = await makeTestContext(driver);
  const scep = createScepProtocol({ challenge: CHALLENGE, ...settings }, {});
  const server = await startServer(t.ctx, [scep], opts);
  const url = `${server.httpUrl}/scep`;
  const call = async (u: string, init: RequestInit) => {
    const r = await fetch(u, init);
    return { status: r.status, type: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()) };
  };
  const cacert = await call(`${url}?operation=GetCACert`, {});
  const certs = parseSignedData(cacert.body).certificates;
  const dir = tempDir('certgate-scep-');
  return {
    t,
    server,
    url,
    ra: certs[0],
    chain: certs.slice(1),
    dir,
    // The root: the last certificate of GetCACert's chain (self-signed), the trust anchor a client pins.
    rootFile: writePem(dir, 'root.pem', certs[certs.length - 1]),
    chainFile: writePem(dir, 'chain.pem', certs),
    post: (path, body, headers = {}) => call(`${server.httpUrl}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/x-pki-message', ...headers } }),
    get: (pq) => call(`${server.httpUrl}${pq}`, {}),
    async close() {
      await server.stop();
      await t.cleanup();
      removeTempDirs();
    },
  };
}

/** A local webhook: answers `status` and records what it was sent. */
export async function startWebhook(status: () => number): Promise<{ url: string; seen: unknown[]; close(): Promise<void> }> {
  const seen: unknown[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen, close: () => new Promise((r) => server.close(() => r())) };
}
