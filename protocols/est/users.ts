/**
 * HTTP Basic credentials per label (RFC 7030 §3.2.3). Passwords are random, shown once, stored as
 * scrypt hashes (N=2^14, r=8, p=1) and compared in constant time; a sealed copy (KEK) serves only
 * CMC identityProof, which is a MAC keyed with the shared secret. A successful check is remembered
 * for a minute under an HMAC of the credentials with a per-process key, so a device enrolling
 * repeatedly does not pay scrypt each time; disabling a user clears this instance's memory at once
 * (other instances within that minute).
 */
import { createHmac, randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { and, eq } from 'drizzle-orm';
import { BadRequest, Conflict, NotFound } from '../../src/issuance/errors.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { estUsers } from './schema.ts';

const scrypt = promisify(scryptCb) as (pw: string | Buffer, salt: Buffer, len: number, opts: object) => Promise<Buffer>;
const SCRYPT = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const REMEMBER_MS = 60_000;
const SEALED = 'user-password';

export interface EstUserView {
  id: string;
  label: string;
  name: string;
  disabled: boolean;
  createdAt: Date;
}

export class UserStore {
  private readonly cacheKey = randomBytes(32);
  private readonly verified = new Map<string, number>();
  /** Hashed when the user is unknown, so timing does not tell known names from unknown ones. */
  private readonly dummySalt = randomBytes(16);

  constructor(private readonly ctx: ProtocolContext) {}

  async add(label: string, name: string, actor: string): Promise<{ user: EstUserView; password: string }> {
    if (!NAME.test(name) || name.includes(':')) throw new BadRequest('a user name is 1-128 of A-Z a-z 0-9 . _ @ -');
    const password = randomBytes(18).toString('base64url');
    const salt = randomBytes(16);
    const hash = await scrypt(password, salt, 32, SCRYPT);
    const rows = await this.ctx.store.db
      .insert(estUsers)
      .values({ id: randomUUID(), label, name, passwordHash: hash, salt, passwordSealed: this.ctx.secrets.seal(SEALED, Buffer.from(password)), createdBy: actor })
      .onConflictDoNothing()
      .returning();
    if (rows.length === 0) throw new Conflict(`user "${name}" exists in label "${label}"`);
    await this.ctx.audit.record({ actor, action: 'est.user.add', target: `${label}/${name}` });
    return { user: view(rows[0]), password };
  }

  async list(label?: string): Promise<EstUserView[]> {
    const q = this.ctx.store.db.select().from(estUsers);
    const rows = await (label ? q.where(eq(estUsers.label, label)) : q).orderBy(estUsers.label, estUsers.name);
    return rows.map(view);
  }

  async disable(label: string, name: string, actor: string): Promise<void> {
    const rows = await this.ctx.store.db
      .update(estUsers)
      .set({ disabled: true })
      .where(and(eq(estUsers.label, label), eq(estUsers.name, name)))
      .returning({ id: estUsers.id });
    if (rows.length === 0) throw new NotFound(`no user "${name}" in label "${label}"`);
    this.verified.clear();
    await this.ctx.audit.record({ actor, action: 'est.user.disable', target: `${label}/${name}` });
  }

  /** The password of an enabled user, for CMC identityProof (RFC 5272 §6.2); undefined otherwise. */
  async sharedSecret(label: string, name: string): Promise<Buffer | undefined> {
    const [row] = await this.ctx.store.db.select().from(estUsers).where(and(eq(estUsers.label, label), eq(estUsers.name, name)));
    return row && !row.disabled ? this.ctx.secrets.unseal(SEALED, row.passwordSealed) : undefined;
  }

  /** True when `name`/`password` is an enabled credential of `label`. */
  async verify(label: string, name: string, password: string): Promise<boolean> {
    const mark = createHmac('sha256', this.cacheKey).update(`${label}\0${name}\0${password}`).digest('base64');
    const until = this.verified.get(mark);
    if (until !== undefined && until > Date.now()) return true;
    const [row] = await this.ctx.store.db.select().from(estUsers).where(and(eq(estUsers.label, label), eq(estUsers.name, name)));
    const salt = row ? Buffer.from(row.salt) : this.dummySalt;
    const hash = await scrypt(password, salt, 32, SCRYPT);
    const ok = !!row && timingSafeEqual(hash, Buffer.from(row.passwordHash)) && !row.disabled;
    if (ok) {
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(mark, Date.now() + REMEMBER_MS);
    }
    return ok;
  }
}

function view(r: typeof estUsers.$inferSelect): EstUserView {
  return { id: r.id, label: r.label, name: r.name, disabled: r.disabled, createdAt: r.createdAt };
}
