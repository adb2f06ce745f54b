import { Writable } from 'node:stream';
import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { requestContext } from '../../src/http/middleware.ts';
import { Metrics } from '../../src/metrics.ts';
import type { AppEnv } from '../../src/http/app-env.ts';

function appWith(mode: 'all' | 'errors' | 'off') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
  const app = new Hono<AppEnv>();
  app.use('*', requestContext(pino({ level: 'info' }, sink), new Metrics(), mode));
  app.get('/ok', (c) => c.text('ok'));
  app.get('/boom', (c) => c.text('nope', 404));
  return { app, lines };
}

describe('access log', () => {
  it.each([
    ['all', ['/ok', '/boom']],
    ['errors', ['/boom']],
    ['off', []],
  ] as const)('mode %s logs %j with a request id', async (mode, expected) => {
    const { app, lines } = appWith(mode);
    const ok = await app.request('/ok', { headers: { 'X-Request-Id': 'abc-123' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-123');
    await app.request('/boom', { headers: { 'X-Request-Id': 'bad id with spaces' } });
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.path)).toEqual(expected);
    for (const l of lines) expect(typeof l.reqId).toBe('string');
    if (mode === 'all') expect(lines[0].reqId).toBe('abc-123');
    // A client's unsafe id is replaced by a fresh one.
    if (lines.some((l) => l.path === '/boom')) expect(lines.find((l) => l.path === '/boom')!.reqId).not.toBe('bad id with spaces');
  });
});

describe('access log client address', () => {
  it('logs the client behind a trusted proxy, not a forged leftmost X-Forwarded-For', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    const app = new Hono<AppEnv>();
    app.use('*', requestContext(pino({ level: 'info' }, sink), new Metrics(), 'all', ['10.0.0.0/8']));
    app.get('/ok', (c) => c.text('ok'));
    const env = (peer: string) => ({ incoming: { socket: { remoteAddress: peer } } });
    await app.request('/ok', { headers: { 'X-Forwarded-For': '6.6.6.6, 203.0.113.9' } }, env('10.2.3.4'));
    await app.request('/ok', { headers: { 'X-Forwarded-For': '6.6.6.6' } }, env('198.51.100.1'));
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.ip)).toEqual(['203.0.113.9', '198.51.100.1']);
  });
});
