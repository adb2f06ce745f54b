/** Authorizations (RFC 8555 §7.5, deactivation §7.5.2) and challenges (§7.5.1, §8). */
import { sql } from 'drizzle-orm';
import { authzExtra, authzFromJson, authzJson, challengeExtra, challengeJson, effectiveAuthzStatus, isId, markProcessing, readChallenge } from '../orders.ts';
import { problem } from '../problems.ts';
import { waitAtMost } from '../wait.ts';
import type { AcmeWeb, Handler } from './web.ts';

type Loaded = NonNullable<ReturnType<typeof authzFromJson>>;

export function authzHandlers(w: AcmeWeb) {
  const { d, ctx, settings, db } = w;

  const authorization: Handler = async (c) => {
    const id = c.req.param('id') ?? '';
    // A validation running here for this authorization: its outcome, if it comes within the poll wait.
    await d.validator.settle(id, settings.pollWaitMs);
    const v = await w.auth(c, 'kid', isId(id) ? authzExtra(id) : undefined);
    const urls = w.urlsOf(c);
    const loaded = v.extra ? authzFromJson(v.extra as Parameters<typeof authzFromJson>[0]) : undefined;
    if (!loaded) throw problem('malformed', 'no such authorization', { status: 404 });
    if (loaded.authz.accountId !== v.account!.id) throw problem('unauthorized', 'the authorization belongs to another account');
    const body = v.body as Record<string, unknown> | undefined;
    if (body !== undefined) await deactivate(id, loaded, body);
    return w.send(c, 200, authzJson(loaded.authz, loaded.challenges, urls));
  };

  const deactivate = async (id: string, loaded: Loaded, body: Record<string, unknown>) => {
    if (body?.status !== 'deactivated') throw problem('malformed', 'an authorization can only be updated to status "deactivated"');
    const s = effectiveAuthzStatus(loaded.authz);
    if (s !== 'pending' && s !== 'valid') throw problem('malformed', `an authorization that is ${s} cannot be deactivated`);
    // Every pending or ready order naming it (its own, and others that reused it) becomes invalid.
    await db.execute(sql`
      with a as (update acme_authorizations set status = 'deactivated' where id = ${id} returning order_id)
      update acme_orders set status = 'invalid', error = ${JSON.stringify({ type: 'urn:ietf:params:acme:error:unauthorized', detail: 'an authorization was deactivated', status: 403 })}::jsonb
      where account_id = ${loaded.authz.accountId} and ${id} = any(authz_ids) and status in ('pending', 'ready')`);
    loaded.authz.status = 'deactivated';
  };

  const challenge: Handler = async (c) => {
    const id = c.req.param('id') ?? '';
    const v = await w.auth(c, 'kid', isId(id) ? challengeExtra(id) : undefined);
    const urls = w.urlsOf(c);
    const got = v.extra ? authzFromJson(v.extra as Parameters<typeof authzFromJson>[0]) : undefined;
    if (!got) throw problem('malformed', 'no such challenge', { status: 404 });
    const ch = got.challenges[0];
    const authz = got.authz;
    if (authz.accountId !== v.account!.id) throw problem('unauthorized', 'the challenge belongs to another account');
    const up = { Link: `<${urls.authz(ch.authzId)}>;rel="up"` };
    if (v.body === undefined) return w.send(c, 200, challengeJson(ch, urls), up);
    if (typeof v.body !== 'object' || Array.isArray(v.body)) throw problem('malformed', 'a challenge response is a JSON object ({})');
    const authzStatus = effectiveAuthzStatus(authz);
    if (ch.status !== 'pending' || authzStatus !== 'pending') {
      if (ch.status === 'pending') throw problem('malformed', `the authorization is ${authzStatus}; this challenge can no longer be answered`);
      return w.send(c, 200, challengeJson(ch, urls), ch.status === 'processing' ? { ...up, ...w.retryAfter() } : up);
    }
    // Validation starts at once; a quick one is answered with its outcome (no poll needed) and
    // never stored as processing. One that outlasts the poll wait is marked processing, so
    // every instance shows it running, and answered with Retry-After.
    const running = d.validator.submit(authz, ch, v.account!.thumbprint);
    const outcome = await waitAtMost(running, settings.pollWaitMs);
    if (outcome) return w.send(c, 200, challengeJson(outcome, urls), up);
    const shown = (await markProcessing(ctx.store, ch.id)) ?? (await readChallenge(ctx.store, ch.id)) ?? ch;
    return w.send(c, 200, challengeJson(shown, urls), shown.status === 'processing' ? { ...up, ...w.retryAfter() } : up);
  };

  return { authorization, challenge };
}
