import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';
import { badString } from './body.ts';

/**
 * App-wide guard for the strings a URL hands to route handlers: a path segment or query
 * parameter that decodes to NUL or a lone surrogate cannot be stored or compared in PostgreSQL, so it
 * is answered 400 here, once, before any protocol or admin route looks it up. (Header values need
 * no guard: Node's HTTP parser refuses NUL and other control characters in them.)
 */
export function urlStringGuard(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = c.req.url;
    // Only percent-escapes can smuggle these characters in; most URLs have none.
    if (url.includes('%')) {
      const bad = badUrlPart(url);
      if (bad) return c.json({ error: 'BadRequest', message: `${bad.where}: contains ${bad.what}` }, 400);
    }
    return next();
  };
}

function badUrlPart(url: string): { where: string; what: string } | undefined {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  for (const seg of path.split('/')) {
    let s: string;
    try {
      s = decodeURIComponent(seg);
    } catch {
      continue; // left undecoded by the router too
    }
    const what = badString(s);
    if (what) return { where: 'path', what };
  }
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(url.slice(q + 1))) {
      const what = badString(k) ?? badString(v);
      if (what) return { where: `query parameter ${JSON.stringify(badString(k) ? '?' : k)}`, what };
    }
  }
  return undefined;
}
