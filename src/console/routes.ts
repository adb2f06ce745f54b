/**
 * `/console`: the web console, a thin client of the admin API (/api/v1) served by the same
 * server. Static files only — every page reads and writes through the API with the operator's
 * bearer token, so the API's role checks are the console's too.
 */
import type { Context as HonoContext, Hono } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from '../http/app-env.ts';
import { loadConsoleAssets, type Asset, type ConsoleAssets } from './assets.ts';

let loaded: ConsoleAssets | undefined;

/**
 * Mounts the console. Files that cannot be found (an install without `console/` or without the
 * front-end packages) leave the rest of the server working: /console answers 404 saying why.
 */
export function mountConsole(app: Hono<AppEnv>, log?: Logger): void {
  let assets: ConsoleAssets;
  try {
    assets = loaded ??= loadConsoleAssets();
  } catch (e) {
    log?.warn({ err: e }, 'web console disabled: its files were not found');
    app.get('/console/*', (c) => c.text('the web console is not installed (console/ or node_modules/preact, htm missing)', 404));
    return;
  }
  serveConsole(app, assets);
}

export function serveConsole(app: Hono<AppEnv>, assets: ConsoleAssets): void {
  const headers = (extra: Record<string, string> = {}) => ({
    'Content-Security-Policy': assets.csp,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    ...extra,
  });
  const send = (c: HonoContext<AppEnv>, a: Asset) => {
    if (c.req.header('if-none-match') === a.etag) return c.body(null, 304, headers({ ETag: a.etag }));
    // no-cache: revalidated each time (ETag), so an upgrade never mixes old and new modules.
    return c.body(new Uint8Array(a.body), 200, headers({ 'Content-Type': a.type, ETag: a.etag, 'Cache-Control': 'no-cache' }));
  };

  app.get('/console', (c) => c.redirect('/console/', 301));
  app.get('/console/', (c) => send(c, assets.index));
  app.get('/console/*', (c) => {
    const path = c.req.path.slice('/console/'.length);
    const a = assets.files.get(path);
    if (!a) return c.text('not found', 404, headers());
    return send(c, a);
  });
}
