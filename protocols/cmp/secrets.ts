import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { BadRequest, Conflict, NotFound } from '../../src/issuance/errors.ts';
import { cmpSecrets } from './schema.ts';

export interface SecretView {
  ref: string;
  alias: string | null;
  disabled: boolean;
  createdBy: string;
  createdAt: string;
}

export interface UsableSecret {
  ref: string;
  alias: string | null;
  secret: Buffer;
}

const REF = /^[\x21-\x7e]{1,128}$/;
const purpose = (ref: string) => `secret:${ref}`;

/**
 * Shared secrets per reference (`-ref` of openssl cmp). Stored sealed; shown once when created.
 * A lookup (found or not) is cached for `cacheMs`: a change made through this instance applies at
 * once, one made through another instance sharing the database within `cacheMs`.
 */
export class SecretStore {
  private cache = new Map<string, { value: UsableSecret | undefined; until: number }>();

  constructor(
    private readonly ctx: ProtocolContext,
    private readonly cacheMs = 0,
  ) {}

  async add(ref: string, alias: string | null, actor: string): Promise<{ ref: string; alias: string | null; secret: string }> {
    if (!REF.test(ref)) throw new BadRequest('ref must be 1 to 128 printable ASCII characters without spaces');
    if (alias !== null && !/^[A-Za-z0-9_.-]{1,64}$/.test(alias)) throw new BadRequest('alias must be 1 to 64 letters, digits, _ . -');
    // 24 random bytes, base64url: 192 bits, typeable, no shell metacharacters.
    const secret = randomBytes(24).toString('base64url');
    const sealed = this.ctx.secrets.seal(purpose(ref), Buffer.from(secret));
    const rows = await this.ctx.store.db
      .insert(cmpSecrets)
      .values({ ref, alias, secretSealed: sealed, createdBy: actor })
      .onConflictDoNothing()
      .returning({ ref: cmpSecrets.ref });
    if (rows.length === 0) throw new Conflict(`reference ${ref} exists`);
    this.cache.delete(ref);
    return { ref, alias, secret };
  }

  async list(): Promise<SecretView[]> {
    const rows = await this.ctx.store.db.select().from(cmpSecrets).orderBy(cmpSecrets.ref);
    return rows.map((r) => ({ ref: r.ref, alias: r.alias, disabled: r.disabled, createdBy: r.createdBy, createdAt: r.createdAt.toISOString() }));
  }

  async setDisabled(ref: string, disabled: boolean): Promise<void> {
    const rows = await this.ctx.store.db.update(cmpSecrets).set({ disabled }).where(eq(cmpSecrets.ref, ref)).returning({ ref: cmpSecrets.ref });
    if (rows.length === 0) throw new NotFound(`no reference ${ref}`);
    this.cache.delete(ref);
  }

  /** The secret of an enabled reference, or undefined. */
  async usable(ref: string): Promise<UsableSecret | undefined> {
    if (!REF.test(ref)) return undefined;
    const now = Date.now();
    const hit = this.cache.get(ref);
    if (hit && hit.until > now) return hit.value;
    const [row] = await this.ctx.store.db.select().from(cmpSecrets).where(eq(cmpSecrets.ref, ref)).limit(1);
    const value = row && !row.disabled ? { ref, alias: row.alias, secret: this.ctx.secrets.unseal(purpose(ref), row.secretSealed) } : undefined;
    if (this.cacheMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(ref, { value, until: now + this.cacheMs });
    }
    return value;
  }
}
