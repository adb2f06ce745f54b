/**
 * The web console's files, read once at start: our own ES modules and stylesheet from the
 * top-level `console/` directory, and the front-end libraries (preact, preact/hooks, htm) as the
 * ESM files npm installed — found through Node's module resolution, so no copy, no bundler, no
 * CDN. The page maps the bare names with an import map whose hash goes into the CSP.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
}

export interface ConsoleAssets {
  /** Path below /console/ → file (including vendor/…). */
  files: Map<string, Asset>;
  index: Asset;
  /** The CSP for every console response. */
  csp: string;
}

const types: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Bare import name → the file of that package's ESM build. */
const vendor: Record<string, { file: string; resolve: string; fallback: string }> = {
  preact: { file: 'preact.mjs', resolve: 'preact', fallback: 'dist/preact.mjs' },
  'preact/hooks': { file: 'preact-hooks.mjs', resolve: 'preact/hooks', fallback: 'hooks/dist/hooks.mjs' },
  htm: { file: 'htm.mjs', resolve: 'htm', fallback: 'dist/htm.mjs' },
};

const asset = (body: Uint8Array, type: string): Asset => ({ body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });

/** The directory holding console/main.js: walks up from here (src/console, or a compiled copy). */
export function consoleDir(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let d = from; ; d = dirname(d)) {
    if (existsSync(join(d, 'console', 'js', 'main.js'))) return join(d, 'console');
    if (dirname(d) === d) throw new Error(`the console's files (console/js/main.js) were not found above ${from}`);
  }
}

/** The ESM file of a package export: Node's own resolution (import conditions), else its package.json's directory. */
function resolveVendor(spec: string, fallback: string): string {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve === 'function') {
    try {
      const url = resolve(spec);
      if (url.startsWith('file:') && /\.m?js$/.test(url)) return fileURLToPath(url);
    } catch {
      /* fall through */
    }
  }
  const req = createRequire(import.meta.url);
  const pkg = spec.split('/')[0];
  return join(dirname(req.resolve(`${pkg}/package.json`)), fallback);
}

export function loadConsoleAssets(dir = consoleDir()): ConsoleAssets {
  const files = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (types[extname(name)]) files.set(relative(dir, p).split(sep).join('/'), asset(readFileSync(p), types[extname(name)]));
    }
  };
  walk(dir);
  const imports: Record<string, string> = {};
  for (const [name, v] of Object.entries(vendor)) {
    files.set(`vendor/${v.file}`, asset(readFileSync(resolveVendor(v.resolve, v.fallback)), types['.mjs']));
    imports[name] = `/console/vendor/${v.file}`;
  }
  const importMap = JSON.stringify({ imports });
  const hash = createHash('sha256').update(importMap).digest('base64');
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<title>Certgate console</title>',
    '<link rel="stylesheet" href="/console/console.css">',
    `<script type="importmap">${importMap}</script>`,
    '<script type="module" src="/console/js/main.js"></script>',
    '</head>',
    '<body>',
    '<div id="app"><noscript>The Certgate console needs JavaScript.</noscript></div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
  const csp = [
    "default-src 'none'",
    // 'self' for our modules and the vendor files; the hash admits the one inline import map only.
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return { files, index: asset(new TextEncoder().encode(html), 'text/html; charset=utf-8'), csp };
}
