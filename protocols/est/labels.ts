/**
 * EST labels (RFC 7030 §3.2.2): `/.well-known/est/<label>/…` selects a profile, an issuer and the
 * authentication the label accepts. The path without a label uses the label `default`, which
 * exists implicitly (profile `device`, certificate or Basic, no channel binding) until an operator
 * adds one of that name.
 */
import { eq } from 'drizzle-orm';
import { BadRequest, Conflict } from '../../src/issuance/errors.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { estLabels } from './schema.ts';

export type AuthKind = 'cert' | 'basic' | 'both';

export interface Label {
  name: string;
  profile: string;
  issuerId?: string;
  auth: AuthKind;
  channelBinding: boolean;
}

export const DEFAULT_LABEL = 'default';
/** Path segments that are EST operations, so cannot be labels. */
const operations = new Set(['cacerts', 'simpleenroll', 'simplereenroll', 'serverkeygen', 'csrattrs', 'fullcmc']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isLabelName(s: string): boolean {
  return NAME.test(s) && !operations.has(s);
}

/** Labels change rarely and are read on every request: kept for a few seconds per instance. */
const TTL_MS = 5000;

export class LabelStore {
  private cache = new Map<string, { label: Label | undefined; at: number }>();

  constructor(private readonly ctx: ProtocolContext) {}

  async get(name: string): Promise<Label | undefined> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.label;
    const [row] = await this.ctx.store.db.select().from(estLabels).where(eq(estLabels.name, name));
    const label: Label | undefined = row
      ? { name: row.name, profile: row.profile, issuerId: row.issuerId ?? undefined, auth: row.auth as AuthKind, channelBinding: row.channelBinding }
      : name === DEFAULT_LABEL
        ? { name, profile: 'device', auth: 'both', channelBinding: false }
        : undefined;
    this.cache.set(name, { label, at: Date.now() });
    return label;
  }

  async add(input: { name: string; profile: string; issuerId?: string; auth?: string; channelBinding?: boolean }, actor: string): Promise<Label> {
    if (!isLabelName(input.name)) throw new BadRequest('a label is 1-64 of A-Z a-z 0-9 . _ - and not an EST operation name');
    const auth = (input.auth ?? 'both') as AuthKind;
    if (!['cert', 'basic', 'both'].includes(auth)) throw new BadRequest('auth must be cert, basic or both');
    const profile = await this.ctx.profiles.get(input.profile);
    if (!profile) throw new BadRequest(`unknown profile "${input.profile}"`);
    if (input.issuerId && !(await this.ctx.issuers.get(input.issuerId))) throw new BadRequest(`unknown issuer "${input.issuerId}"`);
    const rows = await this.ctx.store.db
      .insert(estLabels)
      .values({ name: input.name, profile: input.profile, issuerId: input.issuerId ?? null, auth, channelBinding: input.channelBinding === true, createdBy: actor })
      .onConflictDoNothing()
      .returning();
    if (rows.length === 0) throw new Conflict(`label "${input.name}" exists`);
    this.cache.delete(input.name);
    await this.ctx.audit.record({ actor, action: 'est.label.add', target: input.name, details: { profile: input.profile, auth, channelBinding: input.channelBinding === true } });
    return { name: input.name, profile: input.profile, issuerId: input.issuerId, auth, channelBinding: input.channelBinding === true };
  }

  async list(): Promise<Label[]> {
    const rows = await this.ctx.store.db.select().from(estLabels).orderBy(estLabels.name);
    const labels = rows.map((r) => ({ name: r.name, profile: r.profile, issuerId: r.issuerId ?? undefined, auth: r.auth as AuthKind, channelBinding: r.channelBinding }));
    if (!labels.some((l) => l.name === DEFAULT_LABEL)) labels.unshift({ name: DEFAULT_LABEL, profile: 'device', issuerId: undefined, auth: 'both', channelBinding: false });
    return labels;
  }
}
