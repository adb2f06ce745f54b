/**
 * Registered external applications: add (returns every secret once), list, update, disable,
 * enable, rotate. The signing credential is a PKCS#12 whose certificate the pipeline issues under
 * the `emca-client-signing` profile; Certgate keeps the certificate's issuer and serial, which
 * every CMS signature of the client must name.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { BadRequest, Conflict, NotFound } from '../../src/issuance/errors.ts';
import type { Principal } from '../../src/issuance/request.ts';
import { buildPkcs12 } from '../../src/pki/pkcs12.ts';
import type { ProfileInput } from '../../src/profiles/model.ts';
import { aesModes, deriveEmKey, hashEmKey, hashPassword, parseCidr, type AesMode } from './crypto.ts';
import { emcaClients, type EmcaClientRow } from './schema.ts';

export const SIGNING_PROFILE = 'emca-client-signing';

const YEAR = 365 * 86400;

/** The profile of client signing credentials, created at mount when missing (editable afterwards). */
export const signingProfile: ProfileInput = {
  name: SIGNING_PROFILE,
  description: 'emCA API clients: the certificate whose key signs (PKCS#7) every request of one external application',
  // A credential other parties trust on Certgate's behalf: issued by the operator's paths only.
  audience: 'system',
  keys: { rsa: { minBits: 2048, maxBits: 4096 }, ec: { curves: ['P-256', 'P-384'] }, ed25519: false },
  subject: {
    attributes: [
      { type: 'O', rule: 'optional', maxLength: 64 },
      { type: 'OU', rule: 'optional', maxLength: 64 },
      { type: 'CN', rule: 'required', maxLength: 64 },
    ],
    order: 'profile',
    unknown: 'reject',
  },
  keyUsage: ['digitalSignature', 'nonRepudiation'],
  extendedKeyUsage: ['clientAuth'],
  validity: { default: 2 * YEAR, max: 3 * YEAR, allowCustom: true, backdate: 60 },
};

export const aesPurpose = (id: string) => `emca-aes:${id}`;

export interface ClientSecrets {
  id: string;
  userName: string;
  password: string;
  emKey: string;
  /** Base64 of the 32-byte AES key. */
  aesKey: string;
  aesMode: AesMode;
  /** Base64 PKCS#12 holding the signing key and certificate. */
  pfx: string;
  pfxPassword: string;
  signingSerial: string;
  signingIssuerId: string;
}

export interface ClientView {
  id: string;
  userName: string;
  aesMode: string;
  allowedIps: string[];
  allowedProfiles: string[];
  signingIssuerId: string | null;
  signingSerial: string | null;
  legacyPfx: boolean;
  role: EmcaRole;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface AddClientInput {
  name: string;
  ips: string[];
  profiles?: string[];
  aesMode?: string;
  legacyPfx?: boolean;
  /** An emKey printed by eMudhra's GenerateAuthenticationKey.jar, to keep existing clients unchanged. */
  emKey?: string;
  /** Signing-certificate validity (emCA D:H:M:S or seconds); default the profile's. */
  signingValidity?: string | number;
  /** Signing key: EC P-256 (default) or RSA-2048. */
  signingKey?: 'EC-P256' | 'RSA-2048';
  /** V5 management role; default `client`. */
  role?: string;
}

/** V5 management roles, weakest first (each includes the ones before it). */
export const emcaRoles = ['client', 'auditor', 'officer', 'administrator'] as const;
export type EmcaRole = (typeof emcaRoles)[number];

function checkRole(r: string | undefined): EmcaRole {
  const role = (r ?? 'client').trim().toLowerCase();
  if (!emcaRoles.includes(role as EmcaRole)) throw new BadRequest(`role must be one of ${emcaRoles.join(', ')}`);
  return role as EmcaRole;
}

/** Whether a client's role reaches `needed`. */
export function roleAtLeast(role: string, needed: EmcaRole): boolean {
  return emcaRoles.indexOf(role as EmcaRole) >= emcaRoles.indexOf(needed);
}

const checkRoleOrClient = (r: string): EmcaRole => (emcaRoles.includes(r as EmcaRole) ? (r as EmcaRole) : 'client');

export function viewClient(r: EmcaClientRow): ClientView {
  return {
    id: r.id,
    userName: r.userName,
    aesMode: r.aesMode,
    allowedIps: r.allowedIps,
    allowedProfiles: r.allowedProfiles,
    signingIssuerId: r.signingIssuerId,
    signingSerial: r.signingSerial,
    legacyPfx: r.legacyPfx,
    role: checkRoleOrClient(r.role),
    disabled: r.disabled,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** RFC 5280 CRLReason superseded. */
const SUPERSEDED = 4;

function checkMode(m: string | undefined): AesMode {
  const mode = (m ?? 'ECB').toUpperCase().replace(/_IV_PREFIX$/, '');
  if (!aesModes.includes(mode as AesMode)) throw new BadRequest(`aesMode must be one of ${aesModes.join(', ')}`);
  return mode as AesMode;
}

function checkIps(ips: string[] | undefined): string[] {
  if (!ips || ips.length === 0) throw new BadRequest('at least one allowed IP address or CIDR range is needed (--ip)');
  return ips.map((ip) => {
    try {
      return parseCidr(ip);
    } catch (e) {
      throw new BadRequest((e as Error).message);
    }
  });
}

async function checkProfiles(ctx: ProtocolContext, profiles: string[] | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const p of profiles ?? []) {
    if (!(await ctx.profiles.get(p))) throw new BadRequest(`unknown profile "${p}"`);
    out.push(p);
  }
  return out;
}

function checkEmKey(k: string | undefined): string | undefined {
  if (k === undefined) return undefined;
  const s = k.trim().toLowerCase();
  if (!/^[0-9a-f]{16,128}$/.test(s)) throw new BadRequest('emKey must be 16-128 hexadecimal characters');
  return s;
}

export class ClientStore {
  constructor(private readonly ctx: ProtocolContext) {}

  async ensureSigningProfile(): Promise<void> {
    await this.ctx.profiles.ensure(signingProfile);
  }

  async list(): Promise<ClientView[]> {
    const rows = await this.ctx.store.db.select().from(emcaClients).orderBy(emcaClients.userName);
    return rows.map(viewClient);
  }

  async byUserName(userName: string): Promise<EmcaClientRow | undefined> {
    const [row] = await this.ctx.store.db.select().from(emcaClients).where(eq(emcaClients.userName, userName));
    return row;
  }

  /** The client with the current status of its signing certificate (the V4 hot path). */
  async forCall(userName: string): Promise<(EmcaClientRow & { signingStatus: string | null }) | undefined> {
    const client = await this.byUserName(userName);
    if (!client) return undefined;
    const st = client.signingIssuerId && client.signingSerial ? await this.ctx.certificates.statusBySerial(client.signingIssuerId, client.signingSerial) : undefined;
    return { ...client, signingStatus: st?.status ?? null };
  }

  /** By id or by user name. */
  async find(ref: string): Promise<EmcaClientRow> {
    const [byId] = await this.ctx.store.db.select().from(emcaClients).where(eq(emcaClients.id, ref));
    const row = byId ?? (await this.byUserName(ref));
    if (!row) throw new NotFound(`no emCA client "${ref}"`);
    return row;
  }

  async add(input: AddClientInput, actor: string): Promise<ClientSecrets> {
    if (typeof input.name !== 'string' || !NAME.test(input.name)) {
      throw new BadRequest('name must be 1-64 of A-Z a-z 0-9 . _ @ - (starting with a letter or digit)');
    }
    const ips = checkIps(input.ips);
    const profiles = await checkProfiles(this.ctx, input.profiles);
    const aesMode = checkMode(input.aesMode);
    const role = checkRole(input.role);
    const givenEmKey = checkEmKey(input.emKey);
    if (await this.byUserName(input.name)) throw new Conflict(`an emCA client named "${input.name}" already exists`);

    const id = randomUUID();
    const password = randomBytes(18).toString('base64url');
    const emKey = givenEmKey ?? deriveEmKey(input.name, password);
    const aesKey = randomBytes(32);
    const cred = await this.issueCredential(id, input.name, actor, input.signingValidity, input.signingKey);
    const inserted = await this.ctx.store.db
      .insert(emcaClients)
      .values({
        id,
        userName: input.name,
        passwordHash: await hashPassword(password),
        emKeyHash: hashEmKey(emKey),
        aesKeySealed: this.ctx.secrets.seal(aesPurpose(id), aesKey),
        aesMode,
        allowedIps: ips,
        allowedProfiles: profiles,
        signingIssuerId: cred.issuerId,
        signingSerial: cred.serial,
        signingCertificateId: cred.certificateId,
        legacyPfx: !!input.legacyPfx,
        role,
      })
      .onConflictDoNothing()
      .returning({ id: emcaClients.id });
    if (inserted.length === 0) {
      await this.ctx.revocation.revoke(cred.issuerId, cred.serial, SUPERSEDED, actor).catch(() => {});
      throw new Conflict(`an emCA client named "${input.name}" already exists`);
    }
    await this.ctx.audit.record({ actor, action: 'emca.client.add', target: id, details: { userName: input.name, ips, profiles, aesMode, role } });
    return {
      id,
      userName: input.name,
      password,
      emKey,
      aesKey: aesKey.toString('base64'),
      aesMode,
      pfx: cred.pfx.toString('base64'),
      pfxPassword: cred.pfxPassword,
      signingSerial: cred.serial,
      signingIssuerId: cred.issuerId,
    };
  }

  /** New password, emKey, AES key and signing credential; the old signing certificate is revoked (superseded). */
  async rotate(ref: string, actor: string, opts: { emKey?: string; signingValidity?: string | number } = {}): Promise<ClientSecrets> {
    const row = await this.find(ref);
    const givenEmKey = checkEmKey(opts.emKey);
    const password = randomBytes(18).toString('base64url');
    const emKey = givenEmKey ?? deriveEmKey(row.userName, password);
    const aesKey = randomBytes(32);
    const cred = await this.issueCredential(row.id, row.userName, actor, opts.signingValidity);
    await this.ctx.store.db
      .update(emcaClients)
      .set({
        passwordHash: await hashPassword(password),
        emKeyHash: hashEmKey(emKey),
        aesKeySealed: this.ctx.secrets.seal(aesPurpose(row.id), aesKey),
        signingIssuerId: cred.issuerId,
        signingSerial: cred.serial,
        signingCertificateId: cred.certificateId,
        updatedAt: new Date(),
      })
      .where(eq(emcaClients.id, row.id));
    if (row.signingSerial && row.signingIssuerId) {
      await this.ctx.revocation
        .revoke(row.signingIssuerId, row.signingSerial, SUPERSEDED, actor)
        .catch((err) => this.ctx.log.warn({ err: (err as Error).message, client: row.id }, 'emca: could not revoke the old signing certificate'));
    }
    await this.ctx.audit.record({ actor, action: 'emca.client.rotate', target: row.id, details: { userName: row.userName } });
    return {
      id: row.id,
      userName: row.userName,
      password,
      emKey,
      aesKey: aesKey.toString('base64'),
      aesMode: row.aesMode as AesMode,
      pfx: cred.pfx.toString('base64'),
      pfxPassword: cred.pfxPassword,
      signingSerial: cred.serial,
      signingIssuerId: cred.issuerId,
    };
  }

  async setDisabled(ref: string, disabled: boolean, actor: string): Promise<ClientView> {
    const row = await this.find(ref);
    const [after] = await this.ctx.store.db
      .update(emcaClients)
      .set({ disabled, updatedAt: new Date() })
      .where(eq(emcaClients.id, row.id))
      .returning();
    await this.ctx.audit.record({ actor, action: disabled ? 'emca.client.disable' : 'emca.client.enable', target: row.id, details: { userName: row.userName } });
    return viewClient(after);
  }

  async update(
    ref: string,
    patch: { ips?: string[]; profiles?: string[]; aesMode?: string; legacyPfx?: boolean; role?: string },
    actor: string,
  ): Promise<ClientView> {
    const row = await this.find(ref);
    const set: Partial<typeof emcaClients.$inferInsert> = { updatedAt: new Date() };
    if (patch.ips !== undefined) set.allowedIps = checkIps(patch.ips);
    if (patch.profiles !== undefined) set.allowedProfiles = await checkProfiles(this.ctx, patch.profiles);
    if (patch.aesMode !== undefined) set.aesMode = checkMode(patch.aesMode);
    if (patch.legacyPfx !== undefined) set.legacyPfx = !!patch.legacyPfx;
    if (patch.role !== undefined) set.role = checkRole(patch.role);
    const [after] = await this.ctx.store.db.update(emcaClients).set(set).where(eq(emcaClients.id, row.id)).returning();
    await this.ctx.audit.record({ actor, action: 'emca.client.update', target: row.id, details: { ...patch } });
    return viewClient(after);
  }

  private async issueCredential(clientId: string, userName: string, actor: string, validity?: string | number, keyKind?: string) {
    await this.ensureSigningProfile();
    // The operator registers the client: an operator path, the only kind that may use a system profile.
    const principal: Principal = { id: actor, protocol: 'internal', authenticatedBy: 'bearer-token' };
    const spec = keyKind === 'RSA-2048' ? ({ type: 'RSA', bits: 2048 } as const) : ({ type: 'EC', curve: 'P-256' } as const);
    const result = await this.ctx.pipeline.issue({
      principal,
      profile: SIGNING_PROFILE,
      key: { kind: 'generate', spec },
      subject: [
        { type: 'OU', value: 'emCA API client' },
        { type: 'CN', value: userName },
      ],
      sans: [],
      validity: validity !== undefined ? { duration: validity } : undefined,
      metadata: { emcaClient: clientId, purpose: 'emca-client-signing' },
    });
    if (result.status !== 'issued' || !result.privateKey) {
      throw new Conflict(`the signing profile "${SIGNING_PROFILE}" did not issue at once (manual approval on?); turn approval off for it`);
    }
    const pfxPassword = randomBytes(12).toString('base64url');
    const pfx = await buildPkcs12({
      privateKey: result.privateKey,
      certificate: result.certificate.der,
      chain: result.chain,
      password: pfxPassword,
      friendlyName: `emca:${userName}`,
    });
    return { pfx, pfxPassword, serial: result.certificate.serial, issuerId: result.certificate.issuerId, certificateId: result.certificate.id };
  }
}
