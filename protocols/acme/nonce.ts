/**
 * Replay nonces (RFC 8555 §6.5) shared by every instance through the database.
 *
 * A nonce is base64url(random 12 | expiry u32 | HMAC-SHA-256(key, random|expiry)[0..16]). The MAC
 * key lives sealed in acme_secrets, so any instance recognises any instance's nonces without a
 * database write per response; redeeming one inserts it into acme_nonces (primary key), so it
 * works exactly once cluster-wide. Redeemed rows are deleted once they expire.
 */
import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { eq, lt } from 'drizzle-orm';
import type { JWK } from 'jose';
import type { SecretBox } from '../../src/protocol-context.ts';
import type { Database, Db } from '../../src/db/client.ts';
import { acmeAccounts, acmeNonces, acmeSecrets } from './schema.ts';

type AccountRow = typeof acmeAccounts.$inferSelect;

const SECRET = 'acme-nonce-key';

/**
 * Single-process state of an embedded (PGlite) database, shared by every NonceService of this
 * process on the same database object. PGlite is opened by exactly one process, so redeemed
 * nonces and account rows need no statement of their own (perf: each PGlite statement runs
 * in-process WASM, ~0.5-1.5 ms of server CPU). The nonce MAC key is drawn per process, so
 * nonces handed out before a restart are simply unknown (badNonce, clients retry) and a replay
 * across a restart is impossible without persisting the redeemed set.
 */
interface LocalState {
  key: Buffer;
  /** Redeemed nonce → expiry (s). */
  used: Map<string, number>;
  /** Account rows by id; dropped on every account write (forgetAccount). */
  accounts: Map<string, AccountRow>;
  /** Bumped by forgetAccount: a read that started before a write does not fill the cache. */
  epoch: number;
}
const localStates = new WeakMap<object, LocalState>();

/**
 * A scalar subquery read in the same statement as the nonce and the account: `sql` is constant
 * text whose `$X` stands for the `id` parameter (the statement text is then constant too, so it
 * is prepared once per connection).
 */
export interface ExtraRead {
  sql: string;
  id: string;
}

/** Writes folded into the authenticating statement (redeemAndWrite). */
export interface GatedWrite {
  /** Names the statement text built from `ctes` (constant per name: prepared once per connection). */
  name: string;
  /** CTEs (`x as (...), …`), each taking effect only when `gate` holds; `p(n)` is their n-th parameter. */
  ctes(gate: string, p: (n: number) => string): string;
  /** The CTE whose row count says the write was made. */
  result: string;
  /** More columns of the answer (select-list expressions over the CTEs), e.g. counters. */
  returns?: string;
  params: unknown[];
}

const ACCOUNT_COLUMNS = 'a.id, a.jwk, a.thumbprint, a.status, a.contact, a.terms_agreed, a.eab_kid, a.created_ip, a.created_at';

export class NonceService {
  private key!: Buffer;
  /** Random bytes drawn in bulk: one syscall per 512 nonces. */
  private pool = Buffer.alloc(0);
  private poolOffset = 0;

  private local?: LocalState;
  private readonly db: Db;
  /** Statement texts of redeemAndWrite, by write name (and `alone:` name for the embedded database's). */
  private readonly folded = new Map<string, string>();

  /** An embedded (PGlite) database is private to this process (see LocalState). */
  constructor(
    private readonly database: Pick<Database, 'db' | 'kind' | 'query'>,
    private readonly secrets: SecretBox,
    private readonly lifetimeSeconds: number,
  ) {
    this.db = database.db;
    if (database.kind === 'pglite') {
      const db = database.db;
      let st = localStates.get(db);
      if (!st) localStates.set(db, (st = { key: randomBytes(32), used: new Map(), accounts: new Map(), epoch: 0 }));
      this.local = st;
    }
  }

  /**
   * The key of each valid account a request was verified for, by account id, with the thumbprint
   * it had then. A request naming one of them is verified before any statement, and its write
   * made in the statement that burns the nonce on condition that the account is still valid with
   * that thumbprint — so a key change or deactivation made by another instance is seen.
   */
  readonly accountKeys = new Map<string, { key: KeyObject; thumbprint: string; jwk: JWK }>();

  rememberKey(accountId: string, key: KeyObject, thumbprint: string, jwk: JWK): void {
    if (this.accountKeys.size >= 10_000) this.accountKeys.clear();
    this.accountKeys.set(accountId, { key, thumbprint, jwk });
  }

  /** Forgets a cached account row and key (call after every write to acme_accounts). */
  forgetAccount(id: string): void {
    this.accountKeys.delete(id);
    if (!this.local) return;
    this.local.epoch++;
    this.local.accounts.delete(id);
  }

  async init(): Promise<void> {
    if (this.local) {
      this.key = this.local.key;
      return;
    }
    const read = async () => {
      const [row] = await this.db.select().from(acmeSecrets).where(eq(acmeSecrets.name, SECRET));
      return row ? this.secrets.unseal(SECRET, Buffer.from(row.sealed)) : undefined;
    };
    let k = await read();
    if (!k) {
      await this.db.insert(acmeSecrets).values({ name: SECRET, sealed: this.secrets.seal(SECRET, randomBytes(32)) }).onConflictDoNothing();
      k = await read();
    }
    this.key = Buffer.from(k!);
  }

  private random12(): Buffer {
    if (this.poolOffset + 12 > this.pool.length) {
      this.pool = randomBytes(12 * 512);
      this.poolOffset = 0;
    }
    const b = this.pool.subarray(this.poolOffset, this.poolOffset + 12);
    this.poolOffset += 12;
    return b;
  }

  issue(): string {
    const buf = Buffer.allocUnsafe(32);
    this.random12().copy(buf, 0);
    buf.writeUInt32BE(Math.floor(Date.now() / 1000) + this.lifetimeSeconds, 12);
    createHmac('sha256', this.key).update(buf.subarray(0, 16)).digest().copy(buf, 16, 0, 16);
    return buf.toString('base64url');
  }

  /** The expiry of a nonce this cluster issued and that has not expired; undefined for anything else. */
  check(nonce: string): Date | undefined {
    if (typeof nonce !== 'string' || nonce.length !== 43 || !/^[A-Za-z0-9_-]+$/.test(nonce)) return undefined;
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== 32) return undefined;
    const mac = createHmac('sha256', this.key).update(buf.subarray(0, 16)).digest().subarray(0, 16);
    if (!timingSafeEqual(mac, buf.subarray(16))) return undefined;
    const expires = buf.readUInt32BE(12);
    if (expires * 1000 <= Date.now()) return undefined;
    return new Date(expires * 1000);
  }

  /** Checks and burns a nonce; false when it is malformed, forged, expired or already used. */
  async redeem(nonce: string): Promise<boolean> {
    const expires = this.check(nonce);
    if (!expires) return false;
    if (this.local) return this.redeemLocal(nonce, expires);
    const rows = await this.db.insert(acmeNonces).values({ nonce, expires }).onConflictDoNothing().returning({ nonce: acmeNonces.nonce });
    return rows.length === 1;
  }

  /**
   * Burns a nonce and reads an account in one statement (one round trip per request).
   * `fresh` is false for a nonce that is unknown, expired or already used.
   */
  async redeemWithAccount(nonce: string, accountId: string, extra?: ExtraRead): Promise<{ fresh: boolean; account?: AccountRow; extra?: unknown }> {
    const expires = this.check(nonce);
    const x = (p: string) => (extra ? extra.sql.replaceAll('$X', p) : 'null');
    if (this.local) {
      const fresh = expires ? this.redeemLocal(nonce, expires) : false;
      const cached = this.local.accounts.get(accountId);
      if (cached) {
        if (!extra) return { fresh, account: cached };
        const rows = await this.database.query<{ extra: unknown }>(`select ${x('$1')} as extra`, [extra.id]);
        const v = rows[0]?.extra;
        return { fresh, account: cached, extra: typeof v === 'string' ? JSON.parse(v) : (v ?? undefined) };
      }
      const epoch = this.local.epoch;
      const text = `select ${x('$2')} as extra, ${ACCOUNT_COLUMNS} from (select 1) one left join acme_accounts a on a.id = $1::text`;
      const got = this.toAccount(await this.database.query(text, extra ? [accountId, extra.id] : [accountId]));
      if (got.account && epoch === this.local.epoch) {
        if (this.local.accounts.size >= 100_000) this.local.accounts.clear();
        this.local.accounts.set(accountId, got.account);
      }
      return { ...got, fresh };
    }
    const text = `
      with n as (
        insert into acme_nonces (nonce, expires) select $1::text, $2::timestamptz where $3::int = 1
        on conflict do nothing returning 1
      )
      select (select count(*) from n)::int as fresh, ${x('$5')} as extra, ${ACCOUNT_COLUMNS}
      from (select 1) one left join acme_accounts a on a.id = $4::text`;
    const params: unknown[] = [nonce, (expires ?? new Date(0)).toISOString(), expires ? 1 : 0, accountId];
    if (extra) params.push(extra.id);
    return this.toAccount(await this.database.query(text, params));
  }

  /**
   * Burns a nonce, reads an account and makes a write in one statement: the write's CTEs
   * (`write.ctes(gate, p)`, see createOrderCtes) take effect only when the nonce was fresh and the
   * account is still valid with `thumbprint` — the key the request was verified with. `written`
   * says whether they did. On an embedded database: the same checks, then the write alone.
   */
  async redeemAndWrite(
    nonce: string,
    accountId: string,
    thumbprint: string,
    write: GatedWrite,
  ): Promise<{ fresh: boolean; account?: AccountRow; written: boolean; row: Record<string, unknown> }> {
    const expires = this.check(nonce);
    const more = write.returns ? `, ${write.returns}` : '';
    if (this.local) {
      const got = await this.redeemWithAccount(nonce, accountId);
      if (!(got.fresh && got.account?.status === 'valid' && got.account.thumbprint === thumbprint)) return { fresh: got.fresh, account: got.account, written: false, row: {} };
      let alone = this.folded.get(`alone:${write.name}`);
      if (!alone) this.folded.set(`alone:${write.name}`, (alone = `with ${write.ctes('true', (n) => `$${n}`)} select (select count(*) from ${write.result})::int as written${more}`));
      const [row] = await this.database.query<Record<string, unknown>>(alone, write.params);
      return { fresh: true, account: got.account, written: Number(row?.written ?? 0) > 0, row: row ?? {} };
    }
    let text = this.folded.get(write.name);
    if (!text) {
      text = `
      with n as (
        insert into acme_nonces (nonce, expires) select $1::text, $2::timestamptz where $3::int = 1
        on conflict do nothing returning 1
      ), acct as (
        select * from acme_accounts where id = $4::text
      ), g as (
        select 1 from acct where acct.status = 'valid' and acct.thumbprint = $5::text and exists (select 1 from n)
      ), ${write.ctes('exists (select 1 from g)', (n) => `$${n + 5}`)}
      select (select count(*) from n)::int as fresh, (select count(*) from ${write.result})::int as written${more}, ${ACCOUNT_COLUMNS}
      from (select 1) one left join acct a on true`;
      this.folded.set(write.name, text);
    }
    const rows = await this.database.query<Record<string, unknown>>(text, [nonce, (expires ?? new Date(0)).toISOString(), expires ? 1 : 0, accountId, thumbprint, ...write.params]);
    const got = this.toAccount(rows);
    return { fresh: got.fresh, account: got.account, written: Number(rows[0]?.written ?? 0) > 0, row: rows[0] ?? {} };
  }

  private redeemLocal(nonce: string, expires: Date): boolean {
    const used = this.local!.used;
    if (used.has(nonce)) return false;
    used.set(nonce, Math.floor(expires.getTime() / 1000));
    return true;
  }

  private toAccount(rows: Record<string, unknown>[]): { fresh: boolean; account?: AccountRow; extra?: unknown } {
    const row = rows[0];
    const fresh = Number(row?.fresh ?? 0) === 1;
    const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
    if (!row || row.id == null) return { fresh };
    return {
      fresh,
      extra: json(row.extra ?? undefined),
      account: {
        id: row.id as string,
        jwk: json(row.jwk),
        thumbprint: row.thumbprint as string,
        status: row.status as string,
        contact: json(row.contact),
        termsAgreed: row.terms_agreed as boolean,
        eabKid: (row.eab_kid as string | null) ?? null,
        createdIp: (row.created_ip as string | null) ?? null,
        createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at as string),
      },
    };
  }

  /** Deletes redeemed nonces that expired (they would be refused by their expiry anyway). */
  async sweep(): Promise<number> {
    if (this.local) {
      const now = Date.now() / 1000;
      let n = 0;
      for (const [k, exp] of this.local.used) if (exp <= now) this.local.used.delete(k), n++;
      return n;
    }
    const r = await this.db.delete(acmeNonces).where(lt(acmeNonces.expires, new Date())).returning({ n: acmeNonces.nonce });
    return r.length;
  }
}
