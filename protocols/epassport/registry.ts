/**
 * CV profiles (what a role's certificates may carry: rights, validity) and registered holders (a
 * DV or terminal that may request certificates from one of Certgate's authorities).
 */
import { eq } from 'drizzle-orm';
import { parseReference, templateLength, type TerminalType } from './cvc.ts';
import { EpassportError } from './errors.ts';
import { epassportHolders, epassportProfiles } from './schema.ts';
import type { CvStore } from './store.ts';

export type ProfileRow = typeof epassportProfiles.$inferSelect;
export type HolderRow = typeof epassportHolders.$inferSelect;
export type HolderRole = 'dv_domestic' | 'dv_foreign' | 'terminal';

const roles: HolderRole[] = ['dv_domestic', 'dv_foreign', 'terminal'];
const types: TerminalType[] = ['is', 'at', 'st'];

export interface ProfileInput {
  name: string;
  role: HolderRole;
  terminalType: TerminalType;
  /** Rights granted at most (hex, role bits ignored). */
  chat: string;
  maxValidityDays: number;
}

export class Registry {
  constructor(private readonly s: CvStore) {}

  async putProfile(p: ProfileInput, actor: string): Promise<ProfileRow> {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(p.name)) throw new EpassportError('bad_request', 'name: 1-64 of A-Z a-z 0-9 . _ -');
    if (!roles.includes(p.role)) throw new EpassportError('bad_request', `role: one of ${roles.join(', ')}`);
    if (!types.includes(p.terminalType)) throw new EpassportError('bad_request', 'terminalType: is, at or st');
    if (!/^([0-9a-fA-F]{2})+$/.test(p.chat) || p.chat.length / 2 !== templateLength[p.terminalType]) throw new EpassportError('bad_request', `chat: ${templateLength[p.terminalType]} byte(s) of hex for ${p.terminalType.toUpperCase()}`);
    if (!Number.isInteger(p.maxValidityDays) || p.maxValidityDays < 1 || p.maxValidityDays > 3650) throw new EpassportError('bad_request', 'maxValidityDays: 1 to 3650');
    const values = { ...p, chat: p.chat.toLowerCase() };
    const [row] = await this.s.db.insert(epassportProfiles).values(values).onConflictDoUpdate({ target: epassportProfiles.name, set: values }).returning();
    await this.s.ctx.audit.record({ actor, action: 'epassport.profile.put', target: p.name, details: { role: p.role, chat: values.chat, maxValidityDays: p.maxValidityDays } });
    return row;
  }

  async profile(name: string): Promise<ProfileRow | undefined> {
    return (await this.s.db.select().from(epassportProfiles).where(eq(epassportProfiles.name, name)))[0];
  }

  profiles(): Promise<ProfileRow[]> {
    return this.s.db.select().from(epassportProfiles).orderBy(epassportProfiles.name);
  }

  /**
   * Registers a holder (`holder` = country code + mnemonic, e.g. `DEDVIS`) under an authority of
   * Certgate's; `initialAllowed` lets one request without outer signature through.
   */
  async register(o: { holder: string; role: HolderRole; authority: string; profile: string; initialAllowed: boolean }, actor: string): Promise<HolderRow> {
    parseReference(`${o.holder}00000`, 'holder');
    const a = await this.s.authorityByHolder(o.authority);
    if (!a) throw new EpassportError('not_found', `no authority ${o.authority}`);
    if ((o.role === 'terminal') !== (a.kind === 'dv')) throw new EpassportError('bad_request', o.role === 'terminal' ? 'terminals register under a DV' : 'DVs register under a CVCA');
    const p = await this.profile(o.profile);
    if (!p) throw new EpassportError('not_found', `no CV profile ${o.profile}`);
    if (p.role !== o.role || p.terminalType !== a.terminalType) throw new EpassportError('bad_request', `profile ${p.name} is for ${p.role} ${p.terminalType.toUpperCase()}`);
    const values = { holder: o.holder, role: o.role, authorityId: a.id, profile: o.profile, initialAllowed: o.initialAllowed, createdBy: actor };
    const [row] = await this.s.db.insert(epassportHolders).values(values).onConflictDoUpdate({ target: epassportHolders.holder, set: values }).returning();
    await this.s.ctx.audit.record({ actor, action: 'epassport.holder.register', target: o.holder, details: { role: o.role, authority: o.authority, profile: o.profile, initialAllowed: o.initialAllowed } });
    return row;
  }

  async holder(holder: string): Promise<HolderRow | undefined> {
    return (await this.s.db.select().from(epassportHolders).where(eq(epassportHolders.holder, holder)))[0];
  }

  holders(): Promise<HolderRow[]> {
    return this.s.db.select().from(epassportHolders).orderBy(epassportHolders.holder);
  }
}
