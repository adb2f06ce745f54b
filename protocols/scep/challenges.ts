/**
 * Challenge passwords (RFC 8894 §2.3): a static one per label (setting) and one-time ones that an
 * operator makes (`certgate scep challenge`). One-time challenges are stored as SHA-256 only and
 * consumed by one atomic UPDATE, so two requests can never both spend one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import type { ProtocolStore } from '../../src/protocol-context.ts';
import { scepChallenges } from './schema.ts';

const sha256 = (s: string | Uint8Array) => createHash('sha256').update(s).digest();

/** Constant-time equality of two secrets: compares their SHA-256 digests (equal lengths). */
export function secretEquals(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

export class ChallengeStore {
  constructor(private readonly store: ProtocolStore) {}

  /** Makes a one-time challenge for `label` valid for `ttlSeconds`; returns it (shown once). */
  async create(label: string, ttlSeconds: number, createdBy: string): Promise<{ challenge: string; expiresAt: Date }> {
    const challenge = randomBytes(18).toString('base64url');
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    await this.store.db.insert(scepChallenges).values({ hash: sha256(challenge), label, expiresAt, createdBy });
    return { challenge, expiresAt };
  }

  /**
   * Spends a one-time challenge of `label`: true once, for an unexpired unused challenge. The
   * lookup is by digest, so the database compares digests, never the password itself.
   */
  async consume(label: string, challenge: string): Promise<boolean> {
    const rows = await this.store.db
      .update(scepChallenges)
      .set({ usedAt: new Date() })
      .where(and(eq(scepChallenges.hash, sha256(challenge)), eq(scepChallenges.label, label), isNull(scepChallenges.usedAt), gt(scepChallenges.expiresAt, new Date())))
      .returning({ label: scepChallenges.label });
    return rows.length === 1;
  }

  /** Drops challenges that expired more than a day ago. */
  async sweep(): Promise<void> {
    await this.store.db.delete(scepChallenges).where(lt(scepChallenges.expiresAt, new Date(Date.now() - 86_400_000)));
  }
}
