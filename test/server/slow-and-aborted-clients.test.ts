/**
 * Clients that misbehave at the socket level, on a real listening server (HTTP and HTTPS) with
 * every protocol mounted:
 * - a client that sends half a body and goes away is the client's doing: counted as 499 in
 *   certgate_http_request_duration_seconds and logged at debug, never "unhandled error" / 500;
 * - a client that trickles its headers or body is cut off at CERTGATE_HEADERS_TIMEOUT /
 *   CERTGATE_REQUEST_TIMEOUT (shortened here), on both listeners, instead of Node's minutes.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protocols } from '../../protocols/index.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTestEnv, type TestEnv } from '../support/context.ts';

let env: TestEnv;
let ctx: Context;
let server: RunningServer;
let token: string;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  env = await makeTestEnv('pglite', { requestTimeout: 1.5, headersTimeout: 0.75, metricsEnabled: true });
  const sink = new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
  ctx = await createContext(env.config, { logger: createLogger('debug', sink) });
  server = await startServer(ctx, protocols);
  token = await ctx.tokens.issue(await ctx.tokens.ensureOperator('abort-test', 'administrator'), 600);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await ctx?.close();
  await env?.cleanup();
});

function port(url: string): number {
  return Number(new URL(url).port);
}

function open(kind: 'http' | 'https'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s =
      kind === 'http'
        ? netConnect(port(server.httpUrl), '127.0.0.1', () => resolve(s))
        : tlsConnect({ port: port(server.httpsUrl!), host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Everything the server sends until it closes the connection (or 6 s pass), and how long that took. */
function untilClosed(s: Socket): Promise<{ text: string; ms: number }> {
  const start = performance.now();
  let text = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => (text += d));
  const giveUp = setTimeout(() => s.destroy(), 6_000);
  return new Promise((resolve) =>
    s.on('close', () => {
      clearTimeout(giveUp);
      resolve({ text, ms: performance.now() - start });
    }),
  );
}

function metricsText(): Promise<string> {
  return ctx.metrics.registry.metrics();
}

describe('a client that aborts its upload', () => {
  const uploads: [string, string, Record<string, string>][] = [
    ['/api/v1/certificates', 'application/json', {}],
    ['/acme/new-account', 'application/jose+json', {}],
  ];

  it.each(uploads)('POST %s: half a body then the socket destroyed → 499, debug log, no error', async (path, type) => {
    const before = lines.length;
    const s = await open('http');
    const auth = path.startsWith('/api/') ? `Authorization: Bearer ${token}\r\n` : '';
    s.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${type}\r\n${auth}Content-Length: 4000\r\n\r\n{"csr":"MIIB`);
    await new Promise((r) => setTimeout(r, 150));
    s.destroy();
    // The server notices the close, the handler's body read fails, the middleware counts it.
    let mine: Record<string, unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      mine = lines.slice(before);
      if (mine.some((l) => l.msg?.toString().startsWith('request') && l.path === path)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const access = mine.find((l) => String(l.msg).startsWith('request') && l.path === path);
    expect(access).toMatchObject({ status: 499, level: 20 });
    // Nothing at warn or above, whoever caught the read error (admin API, ACME, emCA handlers).
    expect(mine.filter((l) => Number(l.level) >= 40)).toEqual([]);
    const m = await metricsText();
    const route = m.match(new RegExp(`certgate_http_request_duration_seconds_count\\{method="POST",route="([^"]+)",status="499"\\}`, 'g')) ?? [];
    expect(route.length).toBeGreaterThan(0);
    expect(m).not.toMatch(/certgate_http_request_duration_seconds_count\{[^}]*status="500"\}/);
  });
});

describe('slow clients are cut off', () => {
  it.each(['http', 'https'] as const)('%s: a POST whose body trickles is answered 408 and closed at CERTGATE_REQUEST_TIMEOUT', async (kind) => {
    const s = await open(kind);
    const done = untilClosed(s);
    s.write('POST /ocsp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/ocsp-request\r\nContent-Length: 200\r\n\r\n0');
    // One byte every 200 ms: always some progress, never the whole body.
    const drip = setInterval(() => !s.destroyed && s.write('0'), 200);
    const { text, ms } = await done;
    clearInterval(drip);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeGreaterThan(1_400);
    expect(ms).toBeLessThan(4_000);
  });

  it.each(['http', 'https'] as const)('%s: headers that never end are cut off at CERTGATE_HEADERS_TIMEOUT', async (kind) => {
    const s = await open(kind);
    const done = untilClosed(s);
    s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    const drip = setInterval(() => !s.destroyed && s.write('X-Slow: 1\r\n'), 100);
    const { text, ms } = await done;
    clearInterval(drip);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeGreaterThan(700);
    expect(ms).toBeLessThan(3_000);
  });

  it('a request that completes in time is answered normally', async () => {
    const r = await fetch(`${server.httpUrl}/healthz`);
    expect(r.status).toBe(200);
  });
});
