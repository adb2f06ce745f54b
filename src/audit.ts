import { and, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import type { Db } from './db/client.ts';
import { auditEvents } from './db/schema.ts';

export interface AuditRecord {
  actor: string;
  action: string;
  target?: string;
  outcome?: 'success' | 'failure';
  details?: Record<string, unknown>;
  requestId?: string;
}

/** The audit trail. Details must never hold secrets: callers pass identifiers, not credentials. */
export class AuditLog {
  constructor(private readonly db: Db) {}

  async record(r: AuditRecord): Promise<void> {
    await this.db.insert(auditEvents).values({
      actor: r.actor,
      action: r.action,
      target: r.target ?? null,
      outcome: r.outcome ?? 'success',
      details: r.details ?? {},
      requestId: r.requestId ?? null,
    });
  }

  async search(q: { action?: string; actor?: string; target?: string; since?: Date; until?: Date; limit?: number }) {
    const where: SQL[] = [];
    if (q.action) where.push(eq(auditEvents.action, q.action));
    if (q.actor) where.push(eq(auditEvents.actor, q.actor));
    if (q.target) where.push(eq(auditEvents.target, q.target));
    if (q.since) where.push(gte(auditEvents.at, q.since));
    if (q.until) where.push(lte(auditEvents.at, q.until));
    return this.db
      .select()
      .from(auditEvents)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditEvents.id))
      .limit(Math.min(q.limit ?? 100, 1000));
  }
}
