import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { profiles } from '../db/schema.ts';
import { BadRequest, Conflict, IssuanceError } from '../issuance/errors.ts';
import { profileAudience } from './audience.ts';
import { profileSchema, type Profile } from './model.ts';

/**
 * Profiles live in the database; each instance keeps a short-lived cache so the issuance hot
 * path does not read the table per request. A local write clears the cache at once; another
 * instance's write is seen within `ttlMs`.
 */
export class ProfileStore {
  private cache = new Map<string, { profile: Profile; at: number }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 5000,
  ) {}

  async get(name: string): Promise<Profile | undefined> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.profile;
    const [row] = await this.db.select().from(profiles).where(eq(profiles.name, name));
    if (!row) {
      this.cache.delete(name);
      return undefined;
    }
    const profile = withAudience(profileSchema.parse(row.definition));
    this.cache.set(name, { profile, at: Date.now() });
    return profile;
  }

  async require(name: string): Promise<Profile> {
    const p = await this.get(name);
    if (!p) throw new IssuanceError('unknownProfile', `unknown profile "${name}"`);
    if (!p.enabled) throw new IssuanceError('forbiddenProfile', `profile "${name}" is disabled`, 'profile.disabled');
    return p;
  }

  async list(): Promise<(Profile & { builtin: boolean })[]> {
    const rows = await this.db.select().from(profiles).orderBy(profiles.name);
    return rows.map((r) => ({ ...withAudience(profileSchema.parse(r.definition)), builtin: r.builtin }));
  }

  /** Validates and stores a new profile; a name in use is a Conflict. */
  async create(input: unknown, builtin = false): Promise<Profile> {
    const profile = validate(input);
    const inserted = await this.db
      .insert(profiles)
      .values({ name: profile.name, definition: profile, builtin })
      .onConflictDoNothing()
      .returning({ name: profiles.name });
    if (inserted.length === 0) throw new Conflict(`profile "${profile.name}" already exists`);
    this.cache.delete(profile.name);
    return profile;
  }

  async update(name: string, input: unknown): Promise<Profile> {
    const profile = validate({ ...(input as object), name });
    const r = await this.db
      .update(profiles)
      .set({ definition: profile, updatedAt: new Date() })
      .where(eq(profiles.name, name))
      .returning({ name: profiles.name });
    if (r.length === 0) throw new IssuanceError('unknownProfile', `unknown profile "${name}"`);
    this.cache.delete(name);
    return profile;
  }

  async delete(name: string): Promise<void> {
    const r = await this.db.delete(profiles).where(eq(profiles.name, name)).returning({ name: profiles.name });
    if (r.length === 0) throw new IssuanceError('unknownProfile', `unknown profile "${name}"`);
    this.cache.delete(name);
  }

  /** Inserts the built-in profiles that are missing; never overwrites an operator's edits. */
  async seed(defs: unknown[]): Promise<void> {
    for (const d of defs) {
      const p = profileSchema.parse(d);
      await this.db.insert(profiles).values({ name: p.name, definition: p, builtin: true }).onConflictDoNothing();
    }
  }
}

/** The profile as read, with its derived audience filled in (a stored definition may omit it). */
function withAudience(p: Profile): Profile {
  return { ...p, audience: profileAudience(p) };
}

function validate(input: unknown): Profile {
  const r = profileSchema.safeParse(input);
  if (!r.success) {
    throw new BadRequest(
      'invalid profile: ' + r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
      'profile.definition',
    );
  }
  return r.data;
}
