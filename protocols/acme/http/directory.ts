/** The directory (RFC 8555 §7.1.1), newNonce (§7.2) and the answer for anything else under /acme. */
import { problem } from '../problems.ts';
import type { AcmeWeb, C, Handler } from './web.ts';

export function directoryHandlers(w: AcmeWeb) {
  const { ctx, settings } = w;

  // Profile descriptions change rarely; re-read at most once a minute.
  let profileDescriptions: { at: number; map: Record<string, string> } | undefined;
  const profilesMeta = async () => {
    if (profileDescriptions && Date.now() - profileDescriptions.at < 60_000) return profileDescriptions.map;
    const map: Record<string, string> = {};
    for (const [name, target] of Object.entries(settings.profiles)) {
      const p = await ctx.profiles.get(target);
      if (p && p.enabled !== false && p.audience !== 'system') map[name] = p.description ?? target;
    }
    profileDescriptions = { at: Date.now(), map };
    return map;
  };

  const directory: Handler = async (c) => {
    const u = w.urlsOf(c).base;
    const meta: Record<string, unknown> = { externalAccountRequired: settings.eabRequired, profiles: await profilesMeta() };
    if (settings.termsOfService) meta.termsOfService = settings.termsOfService;
    if (settings.website) meta.website = settings.website;
    if (settings.caaIdentities.length) meta.caaIdentities = settings.caaIdentities;
    return w.send(c, 200, {
      newNonce: `${u}/new-nonce`,
      newAccount: `${u}/new-account`,
      newOrder: `${u}/new-order`,
      revokeCert: `${u}/revoke-cert`,
      keyChange: `${u}/key-change`,
      renewalInfo: `${u}/renewal-info`,
      meta,
    });
  };

  // HEAD: 200 with an explicit zero length (what GET's 204 carries), so that clients keep the
  // connection: without a length, node's http client closes it after the answer.
  const newNonce = (c: C) => (c.req.method === 'HEAD' ? c.body(null, 200, { 'Content-Length': '0' }) : c.body(null, 204));

  const postOnly = /^\/acme\/(new-account|new-order|revoke-cert|key-change|acct\/|order\/|authz\/|chall\/|cert\/)/;
  /** Wrong method on a known resource: 405 with Allow; anything else: 404. */
  const fallback: Handler = async (c) => {
    if (postOnly.test(c.req.path) && c.req.method !== 'POST') {
      throw problem('malformed', `${c.req.method} is not allowed here; use POST (POST-as-GET to read)`, { status: 405, headers: { Allow: 'POST' } });
    }
    if (/^\/acme\/(directory|new-nonce|renewal-info\/[^/]+)$/.test(c.req.path)) {
      throw problem('malformed', `${c.req.method} is not allowed here; use GET`, { status: 405, headers: { Allow: 'GET, HEAD' } });
    }
    throw problem('malformed', `no ACME resource at ${c.req.path}`, { status: 404 });
  };

  return { directory, newNonce, fallback };
}
