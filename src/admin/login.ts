/**
 * Password login for the console: username + password → a short-lived admin bearer token (the
 * same JWT the API takes from `certgate token create`, so the roles and the guard are unchanged).
 *
 * Guessing is slowed twice: per operator in the database (every instance sees it — after
 * FREE_FAILURES failures in a row each further attempt waits, doubling up to MAX_BLOCK_MS), and
 * per client address in this process (at most IP_FAILURES failures per IP_WINDOW_MS). Unknown
 * names, missing passwords and disabled operators get the same answer, in the same time, as a
 * wrong password. At most MAX_CONCURRENT checks run at once per instance; more get 429 at once.
 */
import { eq, sql } from 'drizzle-orm';
import type { AuditLog } from '../audit.ts';
import type { Db } from '../db/client.ts';
import { principals } from '../db/schema.ts';
import { IssuanceError } from '../issuance/errors.ts';
import { verifyPassword } from './passwords.ts';
import type { Role, TokenService } from './tokens.ts';

const FREE_FAILURES = 5;
const BASE_BLOCK_MS = 30_000;
const MAX_BLOCK_MS = 15 * 60_000;
const IP_FAILURES = 20;
const IP_WINDOW_MS = 10 * 60_000;
/** scrypt takes 32 MiB and a thread-pool thread: more at once queue up memory and starve other work. */
const MAX_CONCURRENT = 4;

export class LoginRefused extends IssuanceError {
  constructor(message: string, readonly retryAfterSeconds?: number) {
    super(retryAfterSeconds === undefined ? 'unauthorized' : 'rateLimited', message);
  }
}

export interface LoginResult {
  token: string;
  operator: string;
  role: Role;
  expiresAt: Date;
}

export class PasswordLogin {
  /** Recent failure times per client address (this process). */
  private readonly failuresByAddress = new Map<string, number[]>();
  private inFlight = 0;

  constructor(
    private readonly db: Db,
    private readonly tokens: TokenService,
    private readonly audit: AuditLog,
    private readonly ttlSeconds: number,
  ) {}

  async login(name: string, password: string, address: string, requestId?: string): Promise<LoginResult> {
    if (this.inFlight >= MAX_CONCURRENT) throw new LoginRefused('too many logins at once; try again in a moment', 1);
    this.inFlight++;
    try {
      return await this.attempt(name, password, address, requestId);
    } finally {
      this.inFlight--;
    }
  }

  private async attempt(name: string, password: string, address: string, requestId?: string): Promise<LoginResult> {
    const now = Date.now();
    const recent = this.recentFailures(address, now);
    if (recent.length >= IP_FAILURES) {
      throw new LoginRefused('too many failed logins from this address; try again later', Math.ceil((recent[0] + IP_WINDOW_MS - now) / 1000));
    }
    const [row] = await this.db.select().from(principals).where(eq(principals.name, name));
    if (row?.loginBlockedUntil && row.loginBlockedUntil.getTime() > now) {
      throw new LoginRefused('too many failed logins for this operator; try again later', Math.ceil((row.loginBlockedUntil.getTime() - now) / 1000));
    }
    // Always one scrypt, whoever asks: the time does not tell which names exist.
    const ok = (await verifyPassword(password, row?.passwordHash)) && !!row && !row.disabled;
    if (!ok) {
      recent.push(now);
      this.failuresByAddress.set(address, recent);
      if (row) await this.recordFailure(row.id, now);
      await this.audit.record({ actor: `console:${address}`, action: 'operator.login', target: name, outcome: 'failure', details: { method: 'password' }, requestId });
      throw new LoginRefused('wrong username or password');
    }
    await this.db.update(principals).set({ loginFailures: 0, loginBlockedUntil: null }).where(eq(principals.id, row.id));
    const op = { id: row.id, name: row.name, role: row.role as Role };
    const token = await this.tokens.issue(op, this.ttlSeconds);
    await this.audit.record({ actor: `operator:${op.name}`, action: 'operator.login', target: op.name, details: { method: 'password', address }, requestId });
    return { token, operator: op.name, role: op.role, expiresAt: new Date((Math.floor(now / 1000) + this.ttlSeconds) * 1000) };
  }

  /** Counts the failure in the row itself (atomic across instances) and blocks once past the free ones. */
  private async recordFailure(id: string, now: number): Promise<void> {
    const [r] = await this.db
      .update(principals)
      .set({ loginFailures: sql`${principals.loginFailures} + 1` })
      .where(eq(principals.id, id))
      .returning({ failures: principals.loginFailures });
    const over = (r?.failures ?? 0) - FREE_FAILURES;
    if (over >= 0) {
      const ms = Math.min(MAX_BLOCK_MS, BASE_BLOCK_MS * 2 ** Math.min(over, 20));
      await this.db.update(principals).set({ loginBlockedUntil: new Date(now + ms) }).where(eq(principals.id, id));
    }
  }

  private recentFailures(address: string, now: number): number[] {
    const list = (this.failuresByAddress.get(address) ?? []).filter((t) => t > now - IP_WINDOW_MS);
    if (list.length) this.failuresByAddress.set(address, list);
    else this.failuresByAddress.delete(address);
    // Bounded memory under a spray from many addresses: forget the oldest.
    if (this.failuresByAddress.size > 10_000) this.failuresByAddress.delete(this.failuresByAddress.keys().next().value!);
    return list;
  }
}
