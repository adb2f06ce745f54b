/**
 * The console dashboard's aggregates in one read (auditor): issuance per day by protocol and
 * profile, certificates by status, those expiring soon, pending requests, CRL freshness per
 * issuer and recent errors. Everything else the console shows comes from the ordinary routes.
 */
import { and, asc, count, desc, eq, gt, gte, lte, sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { auditEvents, certificates, pendingRequests } from '../../db/schema.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { check, type AdminKit } from './kit.ts';
import { certJson } from './views.ts';

export const dashboardQuerySchema = z.strictObject({
  days: z.coerce.number().int().min(1).max(366).default(14).describe('Days of issuance history'),
  expiringDays: z.coerce.number().int().min(1).max(3650).default(30).describe('What "expiring soon" means, in days'),
});

const DAY_MS = 86_400_000;

export function mountDashboard(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need } = k;

  api.get('/dashboard', need('auditor', 'read the dashboard'), async (c) => {
    const q = check(dashboardQuerySchema, c.req.query(), 'query');
    const now = new Date();
    const since = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - (q.days - 1) * DAY_MS);
    const soon = new Date(now.getTime() + q.expiringDays * DAY_MS);
    const day = sql<string>`to_char(${certificates.createdAt} at time zone 'UTC', 'YYYY-MM-DD')`;
    const expiring = and(eq(certificates.status, 'valid'), gt(certificates.notAfter, now), lte(certificates.notAfter, soon));
    const [issuance, statuses, expiringRows, [{ n: expiringTotal }], pendingRows, [{ n: pendingTotal }], failures, rejected, crls, issuanceErrors] = await Promise.all([
      ctx.db
        .select({ day, protocol: certificates.protocol, profile: certificates.profile, n: count() })
        .from(certificates)
        .where(gte(certificates.createdAt, since))
        .groupBy(day, certificates.protocol, certificates.profile)
        .orderBy(day),
      ctx.db
        // A raw parameter is not mapped by the column: postgres.js needs the date as text.
        .select({ status: certificates.status, expired: sql<boolean>`${certificates.notAfter} <= ${now.toISOString()}::timestamptz`, n: count() })
        .from(certificates)
        .groupBy(certificates.status, sql`2`),
      ctx.db.select().from(certificates).where(expiring).orderBy(asc(certificates.notAfter)).limit(10),
      ctx.db.select({ n: count() }).from(certificates).where(expiring),
      ctx.db
        .select({ id: pendingRequests.id, subject: pendingRequests.subject, profile: pendingRequests.profile, protocol: pendingRequests.protocol, principal: pendingRequests.principal, createdAt: pendingRequests.createdAt })
        .from(pendingRequests)
        .where(eq(pendingRequests.status, 'pending'))
        .orderBy(desc(pendingRequests.createdAt))
        .limit(10),
      ctx.db.select({ n: count() }).from(pendingRequests).where(eq(pendingRequests.status, 'pending')),
      ctx.db.select().from(auditEvents).where(eq(auditEvents.outcome, 'failure')).orderBy(desc(auditEvents.id)).limit(10),
      ctx.db
        .select({ id: pendingRequests.id, subject: pendingRequests.subject, profile: pendingRequests.profile, reason: pendingRequests.reason, decidedBy: pendingRequests.decidedBy, decidedAt: pendingRequests.decidedAt })
        .from(pendingRequests)
        .where(eq(pendingRequests.status, 'rejected'))
        .orderBy(desc(pendingRequests.decidedAt))
        .limit(5),
      crlFreshness(k, now),
      issuanceFailures(k),
    ]);
    return c.json({
      generatedAt: now,
      since,
      days: q.days,
      issuance: issuance.map((r) => ({ day: r.day, protocol: r.protocol, profile: r.profile, count: Number(r.n) })),
      certificates: statusCounts(statuses),
      expiring: { days: q.expiringDays, total: Number(expiringTotal), items: expiringRows.map((r) => certJson(r)) },
      pending: { total: Number(pendingTotal), items: pendingRows },
      crls,
      errors: { issuance: issuanceErrors, audit: failures, rejectedRequests: rejected },
    });
  });
}

function statusCounts(rows: { status: string; expired: boolean; n: number }[]) {
  const out = { total: 0, valid: 0, revoked: 0, hold: 0, expired: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    out.total += n;
    if (r.status === 'valid' && r.expired) out.expired += n;
    else if (r.status === 'valid' || r.status === 'revoked' || r.status === 'hold') out[r.status] += n;
  }
  return out;
}

/** The newest full CRL of each issuer and whether it is past its nextUpdate. */
async function crlFreshness(k: AdminKit, now: Date) {
  await k.ctx.issuers.load();
  return Promise.all(
    k.ctx.issuers.list().map(async (i) => {
      const latest = await k.ctx.crls.latest(i.id);
      return {
        issuerId: i.id,
        issuerStatus: i.status,
        number: latest?.number ?? null,
        thisUpdate: latest?.thisUpdate ?? null,
        nextUpdate: latest?.nextUpdate ?? null,
        stale: !latest || latest.nextUpdate.getTime() <= now.getTime(),
      };
    }),
  );
}

/** Refused or failed issuances counted by this instance since it started (the metrics counter). */
async function issuanceFailures(k: AdminKit) {
  const { values } = await k.ctx.metrics.issuances.get();
  return values
    .filter((v) => v.value > 0 && v.labels.result !== 'issued' && v.labels.result !== 'pending')
    .map((v) => ({ protocol: String(v.labels.protocol), profile: String(v.labels.profile), result: String(v.labels.result), count: v.value }))
    .sort((a, b) => b.count - a.count)
    .slice(0, 20);
}
