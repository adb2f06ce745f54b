import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { SignJWT, jwtVerify } from 'jose';
import { seal, unseal } from '../ca/seal.ts';
import type { Db } from '../db/client.ts';
import { principals, settings } from '../db/schema.ts';

import type { Operator, Role } from '../http/app-env.ts';

export type { Operator, Role };
export const roles: Role[] = ['administrator', 'officer', 'auditor'];

const SECRET_KEY = 'admin-token-secret';
const ISSUER = 'certgate';
const AUDIENCE = 'certgate-admin';

/**
 * Admin bearer tokens: HS256 JWTs whose secret is shared by every instance through the
 * database (sealed under the KEK). A token names an operator; the operator's row decides the
 * role and whether it is still enabled, so disabling an operator revokes its tokens.
 */
export class TokenService {
  private secret?: Uint8Array;

  constructor(
    private readonly db: Db,
    private readonly kek: Buffer,
  ) {}

  private async key(): Promise<Uint8Array> {
    if (this.secret) return this.secret;
    const read = async () => {
      const [row] = await this.db.select().from(settings).where(eq(settings.key, SECRET_KEY));
      return row ? unseal(this.kek, Buffer.from((row.value as { sealed: string }).sealed, 'base64'), SECRET_KEY) : undefined;
    };
    let s = await read();
    if (!s) {
      const fresh = seal(this.kek, randomBytes(32), SECRET_KEY).toString('base64');
      await this.db.insert(settings).values({ key: SECRET_KEY, value: { sealed: fresh } }).onConflictDoNothing();
      s = await read();
    }
    this.secret = new Uint8Array(s!);
    return this.secret;
  }

  /** Creates (or finds) an operator with this name and role. */
  async ensureOperator(name: string, role: Role, kind: 'operator' | 'api-client' | 'local' = 'operator'): Promise<Operator> {
    const [existing] = await this.db.select().from(principals).where(eq(principals.name, name));
    if (existing) {
      if (existing.role !== role || existing.disabled) {
        await this.db.update(principals).set({ role, disabled: false }).where(eq(principals.id, existing.id));
      }
      return { id: existing.id, name, role };
    }
    const id = randomUUID();
    await this.db.insert(principals).values({ id, name, role, kind }).onConflictDoNothing();
    const [row] = await this.db.select().from(principals).where(eq(principals.name, name));
    return { id: row.id, name, role: row.role as Role };
  }

  async issue(op: Operator, ttlSeconds: number): Promise<string> {
    return new SignJWT({ role: op.role, name: op.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(op.id)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(await this.key());
  }

  /**
   * The operator a token names, or undefined for any invalid, expired or disabled one. A database
   * that cannot be read is an error thrown, not an invalid token: an outage must not answer 401.
   */
  async verify(token: string): Promise<Operator | undefined> {
    const key = await this.key();
    let sub: string | undefined;
    try {
      ({ payload: { sub } } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] }));
    } catch {
      return undefined;
    }
    if (!sub) return undefined;
    const [row] = await this.db.select().from(principals).where(eq(principals.id, sub));
    if (!row || row.disabled) return undefined;
    return { id: row.id, name: row.name, role: row.role as Role };
  }

  async disable(name: string): Promise<boolean> {
    const r = await this.db.update(principals).set({ disabled: true }).where(eq(principals.name, name)).returning({ id: principals.id });
    return r.length > 0;
  }

  async list() {
    return this.db.select().from(principals).orderBy(principals.name);
  }
}
