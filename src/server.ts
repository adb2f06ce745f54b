import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getRequestListener, type ServerType } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { adminRoutes } from './admin/routes.ts';
import { mountConsole } from './console/routes.ts';
import { scheduleBackups } from './backup/schedule.ts';
import type { Context } from './context.ts';
import { withDeadline } from './db/unavailable.ts';
import { jsonError, loggableError } from './http/errors.ts';
import { requestContext } from './http/middleware.ts';
import { urlStringGuard } from './http/url-guard.ts';
import { toPem } from './pki/pem.ts';
import type { AppEnv } from './http/app-env.ts';
import type { ProtocolModule } from './protocol.ts';
import type { ProtocolContext } from './protocol-context.ts';
import { createProtocolContext, mountAdminRouter } from './protocol-context-impl.ts';
import { ensureServerTls } from './tls.ts';
import { serverInfoFile, type ServerInfo } from './server-info.ts';

const READY_DEADLINE_MS = 1500;

/** Builds the one Hono app: health, metrics, CA and CRL files, admin API, web console, then every protocol. */
export async function buildApp(ctx: Context, protocols: ProtocolModule[]): Promise<Hono<AppEnv>> {
  return (await assemble(ctx, protocols)).app;
}

/** The app, and the ProtocolContext each protocol was mounted with (one per protocol). */
async function assemble(ctx: Context, protocols: ProtocolModule[]): Promise<{ app: Hono<AppEnv>; seams: Map<ProtocolModule, ProtocolContext> }> {
  const app = new Hono<AppEnv>();
  app.use('*', requestContext(ctx.log, ctx.metrics, ctx.config.accessLog, ctx.config.trustedProxies));
  app.use('*', urlStringGuard());
  const limit = bodyLimit({
    maxSize: ctx.config.bodyLimit,
    onError: (c) => c.text(`request body larger than ${ctx.config.bodyLimit} bytes`, 413),
  });
  // Declared lengths are checked from the header alone: touching `req.raw.body` (as hono's
  // bodyLimit does) makes @hono/node-server build a full Request and forgo its direct body read.
  // Only chunked bodies, whose size is not declared, go through the streaming check.
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(declared) > ctx.config.bodyLimit ? c.text(`request body larger than ${ctx.config.bodyLimit} bytes`, 413) : next();
    }
    return limit(c, next);
  });
  app.onError((e, c) => jsonError(c, e, (err) => ctx.log.error({ err: loggableError(err), reqId: c.get('requestId') }, 'unhandled error')));
  app.notFound((c) => c.json({ error: 'NotFound', message: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Answers within READY_DEADLINE_MS whatever the database does (a hung one included).
  app.get('/readyz', async (c) => {
    // With an HSM: ready only while its token answers (issuers it holds cannot sign otherwise).
    const hsm = ctx.hsm ? withDeadline(ctx.hsm.token.check(), READY_DEADLINE_MS).catch(() => false) : undefined;
    const extra = (up: boolean | undefined) => (up === undefined ? {} : { hsm: up ? 'ready' : 'unavailable' });
    try {
      await withDeadline(ctx.db.execute(sql`select 1`), READY_DEADLINE_MS);
      const up = await hsm;
      if (up === false) return c.json({ status: 'unavailable', database: ctx.database.kind, ...extra(up) }, 503);
      return c.json({ status: 'ready', database: ctx.database.kind, ...extra(up) });
    } catch {
      return c.json({ status: 'unavailable', database: ctx.database.kind, ...extra(await hsm) }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    if (!ctx.config.metricsEnabled) return c.text('metrics are disabled', 404);
    return c.text(await ctx.metrics.registry.metrics(), 200, { 'Content-Type': ctx.metrics.registry.contentType });
  });

  // AIA caIssuers target (DER) and the chain as PEM.
  app.get('/ca/:file{[a-z0-9-]+\\.(crt|pem)}', async (c) => {
    const file = c.req.param('file');
    const id = file.replace(/\.(crt|pem)$/, '');
    const issuer = await ctx.issuers.get(id);
    if (!issuer) return c.text(`unknown issuer ${id}`, 404);
    if (file.endsWith('.crt')) return c.body(new Uint8Array(issuer.certDer), 200, { 'Content-Type': 'application/pkix-cert' });
    return c.text(issuer.chain.map((d) => toPem(d, 'CERTIFICATE')).join(''), 200, { 'Content-Type': 'application/pem-certificate-chain' });
  });
  // <issuer>.crl (complete), <issuer>-p<k>.crl (partition), <issuer>[-p<k>]-delta.crl (delta).
  app.get('/crl/:file{[a-z0-9-]+\\.crl}', async (c) => {
    const id = c.req.param('file').replace(/\.crl$/, '');
    const scope = await ctx.crls.parseFileName(id);
    const crl = scope && (await ctx.crls.latest(scope.issuerId, scope.partition, scope.delta));
    if (!crl) return c.text(`unknown CRL ${id}`, 404);
    // Streamed from the publisher's cached chunks, never copied: concurrent downloads of a 50 MB
    // CRL share one copy in memory, and each is written as the socket drains.
    return c.body(chunkStream(crl.chunks), 200, {
      'Content-Length': String(crl.size),
      'Content-Type': 'application/pkix-crl',
      'Last-Modified': crl.thisUpdate.toUTCString(),
      Expires: crl.nextUpdate.toUTCString(),
      ETag: `"${id}-${crl.number}"`,
      'Cache-Control': `public, max-age=${Math.max(0, Math.floor((crl.nextUpdate.getTime() - Date.now()) / 2000))}`,
    });
  });

  app.route('/api/v1', adminRoutes(ctx, protocols.flatMap((p) => (p.openapi ? [p.openapi] : []))));
  mountConsole(app, ctx.log);
  const seams = new Map<ProtocolModule, ProtocolContext>();
  for (const p of protocols) {
    const pctx = createProtocolContext(ctx, p.name);
    await p.mount(app, pctx);
    mountAdminRouter(app, pctx);
    seams.set(p, pctx);
  }
  return { app, seams };
}

export interface RunningServer {
  app: Hono<AppEnv>;
  http: ServerType;
  https?: ServerType;
  httpUrl: string;
  httpsUrl?: string;
  stop(): Promise<void>;
}

// Kept in a module of its own, so the CLI reads the handle without loading the server.
export { serverInfoFile, type ServerInfo } from './server-info.ts';

export async function startServer(ctx: Context, protocols: ProtocolModule[], opts: { https?: boolean } = {}): Promise<RunningServer> {
  const { app, seams } = await assemble(ctx, protocols);
  const { host, httpPort, httpsPort } = ctx.config;
  // Hot paths first (node:http level), then the Hono app.
  const honoListener = getRequestListener(app.fetch, { hostname: host });
  const fast = protocols.flatMap((p) => p.nodeHandler?.(seams.get(p)!) ?? []);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    for (const f of fast) if (f(req, res)) return;
    void honoListener(req, res);
  };
  const timeouts = listenerTimeouts(ctx.config);
  const http: ServerType = await listen(createHttpServer(timeouts, handler).listen(httpPort, host));
  const httpUrl = `http://${urlHost(host)}:${(http.address() as AddressInfo).port}`;
  let https: ServerType | undefined;
  let httpsUrl: string | undefined;
  if (opts.https !== false) {
    const tls = await ensureServerTls(ctx);
    // Client certificates are requested, not required: EST re-enrolment and mTLS use them.
    const options = { ...timeouts, key: tls.key, cert: tls.certChain, requestCert: true, rejectUnauthorized: false, ca: tls.trust };
    https = await listen(createHttpsServer(options, handler).listen(httpsPort, host));
    httpsUrl = `https://${urlHost(host)}:${(https.address() as AddressInfo).port}`;
  }
  for (const p of protocols) await p.start?.(seams.get(p)!);

  // Scheduled jobs: CRL freshness (one instance at a time through an advisory lock).
  const tick = () =>
    ctx.crls.refreshDue().catch((err) => ctx.log.error({ err: loggableError(err) }, 'scheduled CRL refresh failed'));
  await tick();
  const timer = setInterval(tick, ctx.config.schedulerIntervalSeconds * 1000);
  timer.unref();
  // Scheduled backups (CERTGATE_BACKUP_INTERVAL), one instance at a time.
  const backups = scheduleBackups(ctx);

  // The CLI's way in while this process owns the database.
  const op = await ctx.tokens.ensureOperator('local-cli', 'administrator', 'local');
  const info: ServerInfo = { pid: process.pid, instance: randomUUID(), url: httpUrl.replace('0.0.0.0', '127.0.0.1').replace('[::]', '[::1]'), token: await ctx.tokens.issue(op, 365 * 86400) };
  mkdirSync(ctx.config.dataDir, { recursive: true });
  writeFileSync(serverInfoFile(ctx.config.dataDir), JSON.stringify(info), { mode: 0o600 });
  chmodSync(serverInfoFile(ctx.config.dataDir), 0o600);

  let stopped = false;
  return {
    app,
    http,
    https,
    httpUrl,
    httpsUrl,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await backups.stop();
      // Stop accepting, let in-flight requests finish, then release the database.
      await Promise.all([close(http), https ? close(https) : Promise.resolve()]);
      for (const p of protocols) await p.stop?.();
      try {
        // Never a server.json this server did not write.
        const cur = JSON.parse(readFileSync(serverInfoFile(ctx.config.dataDir), 'utf8')) as ServerInfo;
        if (cur.instance === info.instance) rmSync(serverInfoFile(ctx.config.dataDir));
      } catch {
        /* already gone */
      }
    },
  };
}

/**
 * Slow clients are cut off (408, connection closed) once they take longer than
 * CERTGATE_HEADERS_TIMEOUT to send their headers or CERTGATE_REQUEST_TIMEOUT for the whole request:
 * Node's defaults (60 s, 300 s) let a trickling body hold a connection open for minutes. Node checks
 * the deadlines every `connectionsCheckingInterval` (30 s by default), so that follows the shorter one.
 */
export function listenerTimeouts(config: Pick<Context['config'], 'requestTimeout' | 'headersTimeout'>) {
  const requestTimeout = Math.round(config.requestTimeout * 1000);
  // Node wants headersTimeout ≤ requestTimeout.
  const headersTimeout = Math.min(Math.round(config.headersTimeout * 1000), requestTimeout);
  const connectionsCheckingInterval = Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4)));
  return { requestTimeout, headersTimeout, connectionsCheckingInterval };
}

function urlHost(h: string): string {
  if (h === '0.0.0.0' || h === '::') return h === '::' ? '[::1]' : '127.0.0.1';
  return h.includes(':') ? `[${h}]` : h;
}

function listen(s: ServerType): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    if (s.listening) return resolve(s);
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
}

function close(s: ServerType): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    // Idle keep-alive sockets would hold close() open.
    (s as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}

/** A byte stream of `chunks` in order, one chunk per pull (the consumer's pace). */
function chunkStream(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (i < chunks.length) controller.enqueue(chunks[i++]);
        else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}
