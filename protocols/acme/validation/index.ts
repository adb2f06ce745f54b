/**
 * The validation authority: runs a challenge in the background (bounded concurrency, a time
 * limit per attempt, retries for network failures) and records the outcome on the challenge,
 * its authorization and its order.
 */
import { and, eq, lt } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database, Db } from '../../../src/db/client.ts';
import type { Identifier } from '../../../src/issuance/request.ts';
import { makeUrls, recordInvalid, recordValid, type AuthzRow, type ChallengeRow } from '../orders.ts';
import { problemUrn, type ProblemJson } from '../problems.ts';
import { acmeAccounts, acmeAuthorizations, acmeChallenges } from '../schema.ts';
import type { AcmeSettings } from '../settings.ts';
import { validateDns01 } from './dns01.ts';
import { validateHttp01, type ValidationInput } from './http01.ts';
import { Resolution, ValidationError } from './resolve.ts';
import { validateTlsAlpn01 } from './tlsalpn01.ts';
import { waitAtMost } from '../wait.ts';
import { checkCaa } from './caa.ts';

const validators: Record<string, (v: ValidationInput) => Promise<unknown>> = {
  'http-01': validateHttp01,
  'dns-01': validateDns01,
  'tls-alpn-01': validateTlsAlpn01,
};

const retryable = new Set(['connection', 'dns', 'tls']);

export class Validator {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly byAuthz = new Map<string, Promise<unknown>>();
  private readonly byChallenge = new Map<string, Promise<ChallengeRow | undefined>>();
  readonly resolution: Resolution;
  private stopped = false;

  private readonly db: Db;

  constructor(
    private readonly database: Pick<Database, 'db' | 'query'>,
    private readonly settings: AcmeSettings,
    private readonly log: Logger,
  ) {
    this.db = database.db;
    this.resolution = new Resolution(settings);
  }

  /**
   * Starts validating a challenge (pending, or processing when recovered) unless it is already
   * being validated in this process; returns at once with the promise of the recorded outcome (the
   * challenge as stored: valid or invalid; undefined when another validation recorded first).
   */
  submit(authz: AuthzRow, challenge: ChallengeRow, thumbprint: string): Promise<ChallengeRow | undefined> {
    const running = this.byChallenge.get(challenge.id);
    if (running) return running;
    const p = this.run(authz, challenge, thumbprint)
      .catch((err) => {
        this.log.error({ err, challengeId: challenge.id }, 'acme validation crashed');
        return undefined;
      })
      .finally(() => {
        this.inFlight.delete(p);
        if (this.byAuthz.get(authz.id) === p) this.byAuthz.delete(authz.id);
        this.byChallenge.delete(challenge.id);
      });
    this.inFlight.add(p);
    this.byAuthz.set(authz.id, p);
    this.byChallenge.set(challenge.id, p);
    return p;
  }

  /**
   * Waits (at most `maxMs`) for a validation of this authorization running in this process, so a
   * client's poll is answered with the outcome instead of "pending" (fewer polls).
   */
  async settle(authzId: string, maxMs: number): Promise<void> {
    await waitAtMost(this.byAuthz.get(authzId), maxMs);
  }

  /**
   * Picks up challenges left `processing` longer than a validation can take (the instance running
   * them stopped). Each is claimed with a conditional update, so one instance re-runs it.
   */
  async recover(): Promise<number> {
    const s = this.settings;
    const maxMs = s.validationTimeoutMs * (s.validationRetries + 1) * 3 + s.validationRetryDelayMs * s.validationRetries + 60_000;
    const cutoff = new Date(Date.now() - maxMs);
    const stale = await this.db
      .select({ ch: acmeChallenges, authz: acmeAuthorizations, thumbprint: acmeAccounts.thumbprint })
      .from(acmeChallenges)
      .innerJoin(acmeAuthorizations, eq(acmeAuthorizations.id, acmeChallenges.authzId))
      .innerJoin(acmeAccounts, eq(acmeAccounts.id, acmeAuthorizations.accountId))
      .where(and(eq(acmeChallenges.status, 'processing'), lt(acmeChallenges.processingSince, cutoff)))
      .limit(50);
    let n = 0;
    for (const r of stale) {
      const [claimed] = await this.db
        .update(acmeChallenges)
        .set({ processingSince: new Date() })
        .where(and(eq(acmeChallenges.id, r.ch.id), eq(acmeChallenges.status, 'processing'), lt(acmeChallenges.processingSince, cutoff)))
        .returning();
      if (claimed) {
        this.submit(r.authz, claimed, r.thumbprint);
        n++;
      }
    }
    return n;
  }

  /** Waits for running validations (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  stop(): void {
    this.stopped = true;
  }

  private async slot(): Promise<void> {
    if (this.running < this.settings.validationConcurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  private async run(authz: AuthzRow, ch: ChallengeRow, thumbprint: string): Promise<ChallengeRow | undefined> {
    await this.slot();
    try {
      if (ch.status !== 'processing' && ch.status !== 'pending') return undefined;
      const identifier: Identifier = { type: authz.identifierType as Identifier['type'], value: authz.identifierValue };
      const fn = validators[ch.type];
      const input: ValidationInput = {
        identifier,
        token: ch.token,
        keyAuthorization: `${ch.token}.${thumbprint}`,
        settings: this.settings,
        resolution: this.resolution,
      };
      const attempts: { at: string; error?: string }[] = [];
      for (let attempt = 0; ; attempt++) {
        try {
          if (authz.expires.getTime() <= Date.now()) throw new ValidationError('unauthorized', 'the authorization expired');
          const evidence = await fn(input);
          // RFC 8659: a CA that names itself in CAA checks it (for DNS names; RFC 8738 §7: not IPs).
          if (identifier.type === 'dns' && this.settings.caaIdentities.length) {
            const who = { method: ch.type, isAccount: accountUriMatcher(this.settings.baseUrl, authz.accountId) };
            await checkCaa(this.resolution, identifier.value, authz.wildcard, this.settings.caaIdentities, who);
          }
          attempts.push({ at: new Date().toISOString() });
          const record = { evidence, attempts };
          const validated = await recordValid(this.database, ch, authz, record);
          if (!validated) return undefined;
          this.log.info({ challenge: ch.id, type: ch.type, identifier: `${identifier.type}:${identifier.value}` }, 'acme challenge valid');
          return { ...ch, status: 'valid', validated, attempts: ch.attempts + 1, record };
        } catch (e) {
          const ve = e instanceof ValidationError ? e : new ValidationError('serverInternal', 'validation failed');
          if (!(e instanceof ValidationError)) this.log.error({ err: e, challenge: ch.id }, 'acme validation error');
          attempts.push({ at: new Date().toISOString(), error: ve.message });
          if (retryable.has(ve.type) && attempt < this.settings.validationRetries && !this.stopped) {
            await new Promise((r) => setTimeout(r, this.settings.validationRetryDelayMs));
            continue;
          }
          const error: ProblemJson = { type: problemUrn(ve.type), detail: ve.message, status: ve.type === 'serverInternal' ? 500 : ve.type === 'caa' ? 403 : 400 };
          if (!(await recordInvalid(this.database, ch, authz, error, { attempts }))) return undefined;
          this.log.info({ challenge: ch.id, type: ch.type, identifier: `${identifier.type}:${identifier.value}`, error: ve.message }, 'acme challenge invalid');
          return { ...ch, status: 'invalid', error, attempts: ch.attempts + 1, record: { attempts } };
        }
      }
    } finally {
      this.release();
    }
  }
}

/**
 * Whether an RFC 8657 `accounturi` names this account: exactly its URL under CERTGATE_ACME_BASE_URL
 * when that is set; without it Certgate answers on whatever host it is reached by, so the URL's
 * path (`/acme/acct/<id>`) decides, on an http(s) URL without query or fragment.
 */
export function accountUriMatcher(baseUrl: string | undefined, accountId: string): (uri: string) => boolean {
  // The account URL as routes.ts builds it (makeUrls), under the configured base or any origin.
  if (baseUrl) {
    const exact = makeUrls(baseUrl).account(accountId);
    return (uri) => uri === exact;
  }
  const path = new URL(makeUrls('http://any').account(accountId)).pathname;
  return (uri) => {
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      return false;
    }
    return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash && u.pathname === path;
  };
}
