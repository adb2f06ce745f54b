/**
 * The emCA Open API V4.0.17: `POST /emCAServices/rest/<method>`.
 *
 * Pipeline per request (spec §2): body limit → outer envelope (`requestData`|`encodedString`,
 * `userName`) → client lookup and `emKey` → AES decrypt ("Invalid input data") → inner JSON
 * (keys case-insensitive) → inner userName/password (scrypt, constant time) → source IP against
 * the allow-list → the method: mandatory parameters, the PKCS#7 signer check and signed content,
 * then the operation through the pipeline / ctx.revocation. Every outcome is the §4.2 envelope.
 */
import { DATABASE_RETRY_AFTER, isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import type { Context as HonoContext, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { ProtocolAppEnv as AppEnv } from '../../src/protocol-context.ts';
import { clientAddress } from '../../src/http/client-address.ts';
import { parseSignedData } from '../../src/pki/cms-signed-data.ts';
import { aesPurpose, type ClientStore } from './clients.ts';
import { decryptRequestData, emKeyMatches, ipAllowed, type AesMode, type PasswordCache } from './crypto.ts';
import { EmcaFailure, M } from './messages.ts';
import {
  checkCsr,
  csrFromContent,
  decodeB64,
  parsePkcs12Content,
  parseSanValues,
  parseSubjectDnOids,
  validityFrom,
} from './fields.ts';
import { principalFor, type Caller, type ClampNotice, type EmcaService, type Format, type IssueOutcome } from './service.ts';
import { badString, parseClientJson, readJsonBody } from '../../src/http/body.ts';

export interface Envelope {
  status: string;
  result: string | null;
  subscriberId: string | null;
  requestId: string | null;
  /** rekey's sample answer carries it (null). */
  aliasname?: string | null;
  /** Only when a requested validity was shortened (DIVERGENCES.md). */
  validityClamped?: ClampNotice;
}

/**
 * Signed content read as text (a request id, a serial, pseudo-JSON): NUL or a lone surrogate there
 * cannot be a valid value and cannot be looked up in PostgreSQL, so it is invalid input.
 */
function signedText(content: Buffer, trim = true): string {
  const text = content.toString('utf8');
  const s = trim ? text.trim() : text;
  if (badString(s)) throw new EmcaFailure(M.invalidInput);
  return s;
}

const failure = (result: string): Envelope => ({ status: 'failure', result, subscriberId: null, requestId: null });

/** Inner JSON with case-insensitive keys (spec §2: `profileID`/`ProfileID`/`profileId`). */
class Inner {
  private readonly map = new Map<string, unknown>();
  constructor(obj: Record<string, unknown>) {
    for (const [k, v] of Object.entries(obj)) this.map.set(k.toLowerCase(), v);
  }
  get(name: string): unknown {
    return this.map.get(name.toLowerCase());
  }
  has(name: string): boolean {
    const v = this.get(name);
    return v !== undefined && v !== null;
  }
  /** A mandatory string (numbers accepted and turned into strings); "Invalid parameter" when absent. */
  str(name: string): string {
    const v = this.get(name);
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v !== 'string' || v.trim() === '') throw new EmcaFailure(M.invalidParameter);
    return v.trim();
  }
  optStr(name: string): string | undefined {
    const v = this.get(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') throw new EmcaFailure(M.invalidParameter);
    return v.trim();
  }
}

interface Call {
  caller: Caller;
  inner: Inner;
  svc: EmcaService;
}

type Handler = (call: Call) => Promise<Envelope>;

function envelopeFor(o: IssueOutcome, subscriberId: string | null): Envelope {
  if (o.kind === 'issued') return { status: 'success', result: o.artefact, subscriberId, requestId: null, ...(o.clamped ? { validityClamped: o.clamped } : {}) };
  if (o.kind === 'pending') return { status: 'success', result: M.manualAck, subscriberId, requestId: o.requestId };
  return failure(M.rejected);
}

const ok = (result: string, subscriberId: string | null = null): Envelope => ({ status: 'success', result, subscriberId, requestId: null });

// ── methods ─────────────────────────────────────────────────────────────────

/** What every issuing method reads first: profile, ids, validity, and the verified signed content. */
/** `ProfileID` (any casing; `profileName` as a Certgate extension) as the client sent it. */
function profileRefOf(inner: Inner): string {
  const v = inner.get('profileId') ?? inner.get('profileName');
  return typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
}

async function issuanceInputs({ caller, inner, svc }: Parameters<Handler>[0], by: 'name' | 'id') {
  const profileRef = by === 'name' ? inner.str('profileName') : profileRefOf(inner);
  const profile = by === 'name' ? profileRef : await svc.profileById(profileRef);
  const applicationId = inner.str('applicationId');
  const subscriberId = inner.str('subscriberId');
  const validity = validityFrom(inner.get('validity'), inner.get('validFrom'));
  const content = await svc.verifyClientSignature(caller.client, inner.get('signature'));
  return { profile, profileRef, applicationId, subscriberId, validity, content };
}

function createCertificate(format: Format, by: 'name' | 'id'): Handler {
  return async (args) => {
    const { caller, svc } = args;
    const { profile, profileRef, applicationId, subscriberId, validity, content } = await issuanceInputs(args, by);
    const csr = checkCsr(csrFromContent(content));
    const o = await svc.issue(caller, { profile, profileBy: by, profileRef, key: { kind: 'csr', der: csr }, validity, applicationId, subscriberId, format });
    return envelopeFor(o, subscriberId);
  };
}

function createPkcs12(by: 'name' | 'id'): Handler {
  return async (args) => {
    const { caller, svc } = args;
    const { profile, profileRef, applicationId, subscriberId, validity, content } = await issuanceInputs(args, by);
    const p = parsePkcs12Content(signedText(content, false));
    const o = await svc.issue(caller, {
      profile,
      profileBy: by,
      profileRef,
      key: { kind: 'generate', spec: p.key },
      subject: p.subject,
      sans: p.sans,
      validity,
      applicationId,
      subscriberId,
      format: 'pfx',
      pfxPassword: p.password,
    });
    return envelopeFor(o, subscriberId);
  };
}

/** getPKCS12's signed pseudo-JSON: `{'pfxPin': '…','serialNumber':'…','subscriberId':'…'}`. */
function pseudoJson(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Three short fields: anything longer is not one (and the regex below must not see megabytes).
  if (text.length > 4096) throw new EmcaFailure(M.invalidParameter);
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    for (const [k, v] of Object.entries(j)) if (typeof v === 'string' || typeof v === 'number') out[k.toLowerCase()] = String(v);
    return out;
  } catch {
    /* single-quoted form */
  }
  // A key starts after `{`, `,` or the start: linear, not a backtracking search from every letter.
  for (const m of text.matchAll(/(?:^|[{,])\s*['"]?([A-Za-z0-9_]{1,64})['"]?\s*:\s*(?:'([^']*)'|"([^"]*)")/g)) out[m[1].toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

const getPkcs12: Handler = async ({ caller, svc, inner }) => {
  const content = await svc.verifyClientSignature(caller.client, inner.get('signature'));
  const f = pseudoJson(signedText(content, false));
  if (!f.serialnumber || f.pfxpin === undefined) throw new EmcaFailure(M.invalidParameter);
  const pfx = await svc.storedPfx(caller, f.serialnumber, f.pfxpin);
  return ok(pfx, f.subscriberid ?? null);
};

const getCertificate: Handler = async ({ caller, svc, inner }) => {
  const content = await svc.verifyClientSignature(caller.client, inner.get('signature'));
  const row = await svc.ownCertificate(caller, signedText(content));
  const sub = (row.metadata as Record<string, unknown>)?.subscriberId;
  return ok(Buffer.from(row.der).toString('base64'), typeof sub === 'string' ? sub : null);
};

const getCertificateByRequestId: Handler = async ({ caller, svc, inner }) => {
  const content = signedText(await svc.verifyClientSignature(caller.client, inner.get('signature')));
  if (!content) throw new EmcaFailure(M.invalidRequestId);
  // A multi-CSR request id list `ID1|req1~ID2|req2` answers item by item.
  if (content.includes('|')) {
    const pairs = content.split('~').map((p) => p.split('|').map((x) => x.trim()));
    if (pairs.some((p) => p.length !== 2 || !p[0] || !p[1])) throw new EmcaFailure(M.invalidRequestId);
    const results: string[] = [];
    let subscriberId: string | null = null;
    for (const [id, req] of pairs) {
      const r = await svc.byRequestId(caller, req);
      if (r.state === 'pending') return { status: 'Pending', result: M.pending, subscriberId: null, requestId: content };
      if (r.state === 'rejected') return { ...failure(M.rejected), requestId: content };
      results.push(`${id}|${r.artefact}`);
      subscriberId = r.subscriberId;
    }
    return { status: 'success', result: results.join('~'), subscriberId, requestId: content };
  }
  const r = await svc.byRequestId(caller, content);
  if (r.state === 'pending') return { status: 'Pending', result: M.pending, subscriberId: null, requestId: content };
  if (r.state === 'rejected') return { ...failure(M.rejected), requestId: content };
  return { status: 'success', result: r.artefact, subscriberId: r.subscriberId, requestId: content };
};

const permanentModes = new Set([0, 1, 2, 3, 4, 5, 9, 10]);

function revokeMode(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^\d{1,2}$/.test(s)) throw new EmcaFailure(M.invalidRevokeMode);
  return Number(s);
}

const revoke: Handler = async ({ caller, svc, inner }) => {
  if (!inner.has('remarks')) throw new EmcaFailure(M.invalidParameter);
  const mode = revokeMode(inner.get('revokeMode'));
  if (mode === undefined) throw new EmcaFailure(M.invalidParameter);
  if (!permanentModes.has(mode)) throw new EmcaFailure(M.invalidRevokeMode);
  const content = await svc.verifyClientSignature(caller.client, inner.get('signature'));
  await svc.revoke(caller, signedText(content), mode);
  return ok(M.revoked);
};

const suspend: Handler = async ({ caller, svc, inner }) => {
  if (!inner.has('remarks')) throw new EmcaFailure(M.invalidParameter);
  const mode = revokeMode(inner.get('revokeMode'));
  if (mode !== undefined && mode !== 6) throw new EmcaFailure(M.invalidRevokeMode);
  const content = await svc.verifyClientSignature(caller.client, inner.get('signature'));
  await svc.suspend(caller, signedText(content));
  return ok(M.suspended);
};

const reinstate: Handler = async ({ caller, svc, inner }) => {
  if (!inner.has('remarks')) throw new EmcaFailure(M.invalidParameter);
  const content = await svc.verifyClientSignature(caller.client, inner.get('signature'));
  await svc.reinstate(caller, signedText(content));
  return ok(M.reinstated);
};

/** The rekey serial under each spelling the documents use: `serialNo` (table), `serialNum` (sample), `serialNumber`. */
const rekeySerialKeys = ['serialNo', 'serialNum', 'serialNumber'];

/** The rekey CSR: a CMS by the client's PFX, or (`isSignedData` "false", as the sample allows) a bare CSR. */
async function rekeyCsr({ caller, svc, inner }: Call): Promise<Buffer> {
  const signed = String(inner.get('isSignedData') ?? 'true').trim().toLowerCase() !== 'false';
  if (signed) return checkCsr(csrFromContent(await svc.verifyClientSignature(caller.client, inner.get('signature'))));
  const bare = inner.optStr('csrData') || inner.optStr('signature');
  if (!bare) throw new EmcaFailure(M.invalidParameter);
  return checkCsr(csrFromContent(bare));
}

const rekey: Handler = async (call) => {
  const { caller, svc, inner } = call;
  if (!inner.has('remarks')) throw new EmcaFailure(M.invalidParameter);
  const key = rekeySerialKeys.find((k) => inner.has(k));
  if (!key) throw new EmcaFailure(M.invalidParameter);
  const serialNo = inner.str(key);
  const applicationId = inner.str('applicationId');
  const validity = validityFrom(inner.get('validity'), inner.get('validFrom'));
  const csr = await rekeyCsr(call);
  const old = await svc.ownCertificate(caller, serialNo).catch((e: unknown) => {
    throw e instanceof EmcaFailure && e.result === M.notFound ? new EmcaFailure(M.invalidSerial) : e;
  });
  if (old.status === 'revoked') throw new EmcaFailure(M.alreadyRevoked);
  const { subject, sans } = svc.subjectOf(old.der);
  const sub = (old.metadata as Record<string, unknown>)?.subscriberId;
  const subscriberId = typeof sub === 'string' ? sub : (inner.optStr('subscriberId') ?? null);
  const o = await svc.issue(caller, {
    profile: old.profile,
    profileBy: 'name',
    key: { kind: 'csr', der: csr },
    subject,
    sans,
    validity,
    applicationId,
    subscriberId: subscriberId ?? undefined,
    format: 'cer',
    replaces: { serial: old.serial, issuerId: old.issuerId },
  });
  return { ...envelopeFor(o, subscriberId), aliasname: null };
};

const verifySignature: Handler = async ({ svc, inner }) => {
  await svc.verifyAnySignature(inner.get('signature'));
  return ok(M.verified);
};

function createCustom(esign: boolean): Handler {
  return async ({ caller, svc, inner }) => {
    const profileRef = profileRefOf(inner);
    const profile = await svc.profileById(profileRef);
    const applicationId = inner.str('applicationId');
    const subscriberId = inner.str('subscriberId');
    const validity = validityFrom(inner.get('validity'), inner.get('validFrom'));
    const subject = parseSubjectDnOids(inner.get('subjectDNOids'));
    const sans = parseSanValues(inner.get('sANValues'));
    const p7b = String(inner.get('isP7BRequest') ?? 'false').trim().toLowerCase() === 'true';
    const signed = String(inner.get('isSignedData') ?? 'true').trim().toLowerCase() !== 'false';
    let csrDer: Buffer;
    if (!signed) {
      const csrData = inner.str('csrData');
      csrDer = csrFromContent(csrData);
    } else {
      const sig = inner.get('signature');
      const raw = typeof sig === 'string' ? decodeB64(sig) : undefined;
      let bareCsr = false;
      if (esign && raw) {
        try {
          parseSignedData(raw);
        } catch {
          bareCsr = true; // the eSign sample carries a bare PKCS#10 (spec §3.14)
        }
      }
      csrDer = bareCsr ? raw! : csrFromContent(await svc.verifyClientSignature(caller.client, sig));
    }
    checkCsr(csrDer);
    const o = await svc.issue(caller, {
      profile,
      profileBy: 'id',
      profileRef,
      key: { kind: 'csr', der: csrDer },
      subject,
      sans,
      validity,
      applicationId,
      subscriberId,
      format: p7b ? 'p7b' : 'cer',
      noManual: esign,
      custom: true,
    });
    return envelopeFor(o, subscriberId);
  };
}

/** The multi-CSR signed content `ID1|<CSR>~ID2|<CSR>`: item ids 1-64 of `A-Za-z0-9._-`, unique; every CSR parsed and self-signature checked. */
function multiItems(content: string): { id: string; csr: Buffer }[] {
  const items = content.split('~').map((p) => p.trim()).filter(Boolean);
  if (items.length === 0) throw new EmcaFailure(M.invalidData);
  const seen = new Set<string>();
  return items.map((item) => {
    const bar = item.indexOf('|');
    if (bar <= 0) throw new EmcaFailure(M.invalidData);
    const id = item.slice(0, bar).trim();
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id) || seen.has(id)) throw new EmcaFailure(M.invalidParameter);
    seen.add(id);
    return { id, csr: checkCsr(csrFromContent(item.slice(bar + 1).trim())) };
  });
}

/**
 * createCertificatesByIdWithMultipleCsrData, all or nothing: every item is checked against the
 * profile (key, subject, SANs, validity, duplicates inside the call) before the first is issued;
 * the first refusal answers for the whole call and nothing is issued.
 */
const createMultiple: Handler = async ({ caller, svc, inner }) => {
  const profileRef = profileRefOf(inner);
  const profile = await svc.profileById(profileRef);
  const applicationId = inner.str('applicationId');
  const subscriberId = inner.str('subscriberId');
  const validity = validityFrom(inner.get('validity'), inner.get('validFrom'));
  const parsed = multiItems(signedText(await svc.verifyClientSignature(caller.client, inner.get('signature'))));
  const base = { profile, profileBy: 'id' as const, profileRef, validity, applicationId, subscriberId, format: 'cer' as const };
  await svc.preflight(caller, base, parsed.map((p) => p.csr));
  const certs: string[] = [];
  const pending: string[] = [];
  const clamped: ClampNotice[] = [];
  for (const p of parsed) {
    const o = await svc.issue(caller, { ...base, key: { kind: 'csr', der: p.csr }, itemId: p.id });
    if (o.kind === 'rejected') throw new EmcaFailure(M.rejected);
    if (o.kind === 'issued') certs.push(`${p.id}|${o.artefact}`);
    else pending.push(`${p.id}|${o.requestId}`);
    if (o.kind === 'issued' && o.clamped) clamped.push(o.clamped);
  }
  if (pending.length) return { status: 'success', result: M.manualAck, subscriberId, requestId: pending.join('~') };
  return { status: 'success', result: certs.join('~'), subscriberId, requestId: null, ...(clamped.length ? { validityClamped: clamped[0] } : {}) };
};

const getExpirySoon: Handler = async ({ caller, svc, inner }) => {
  const content = signedText(await svc.verifyClientSignature(caller.client, inner.get('signature')));
  const field = inner.optStr('noOfDaysToExpirySoon');
  if (field !== undefined && field !== '' && field !== content) throw new EmcaFailure(M.invalidParameter);
  if (!/^\d{1,5}$/.test(content) || Number(content) <= 0) throw new EmcaFailure(M.invalidParameter);
  const subscriberId = inner.optStr('subscriberId') || undefined;
  const list = await svc.expiringSoon(caller, Number(content), subscriberId);
  if (list.length === 0) return ok(M.noneExpiring, subscriberId ?? null);
  return ok(JSON.stringify(list), subscriberId ?? null);
};

const getProfileInfo: Handler = async ({ caller, svc, inner }) => {
  const name = signedText(await svc.verifyClientSignature(caller.client, inner.get('signature')));
  const info = await svc.profileInfo(caller, name);
  return ok(JSON.stringify(info), inner.optStr('subscriberId') ?? null);
};

const getProfileList: Handler = async ({ caller, svc, inner }) => {
  const ca = signedText(await svc.verifyClientSignature(caller.client, inner.get('signature')));
  return ok(JSON.stringify(await svc.profileList(caller, ca)));
};

/** Method names (lower case) → handler. Both spellings where the documents differ (spec §3). */
export const v4Methods: Record<string, Handler> = {
  createcertificate: createCertificate('cer', 'name'),
  createcertificatep7b: createCertificate('p7b', 'name'),
  createcertificatebyid: createCertificate('cer', 'id'),
  createcertificatep7bbyid: createCertificate('p7b', 'id'),
  createpkcs12: createPkcs12('name'),
  createpkcs12byid: createPkcs12('id'),
  getpkcs12: getPkcs12,
  getcertificate: getCertificate,
  getcertificatebyrequestid: getCertificateByRequestId,
  revoke,
  suspend,
  reinstate,
  rekey,
  verifysignature: verifySignature,
  createcustomcertificatebyid: createCustom(false),
  createcustomercertificatebyid: createCustom(false),
  createesigncustomcertificatebyid: createCustom(true),
  createesigncustomercertificatebyid: createCustom(true),
  createcertificatesbyidwithmultiplecsrdata: createMultiple,
  createx509certificatesbyidwithmultiplecsrdata: createMultiple,
  getexpirysooncertificate: getExpirySoon,
  getprofileinfobyprofilename: getProfileInfo,
  getcertificateprofilelist: getProfileList,
};

/** The documented path of every method (for the banner, the OpenAPI document and tests). */
export const v4MethodPaths = [
  'createCertificate',
  'createCertificateP7B',
  'createCertificateById',
  'createCertificateP7BById',
  'createPKCS12',
  'createPKCS12ById',
  'getPKCS12',
  'getCertificate',
  'getCertificateByRequestID',
  'revoke',
  'suspend',
  'reinstate',
  'rekey',
  'verifySignature',
  'createCustomCertificateById',
  'createCustomerCertificateById',
  'createeSignCustomCertificateById',
  'createeSignCustomerCertificateById',
  'createCertificatesByIdWithMultipleCsrData',
  'createX509CertificatesByIdWithMultipleCsrData',
  'getExpirySoonCertificate',
  'getProfileinfoByProfilename',
  'getCertificateProfileList',
];

export interface V4Deps {
  ctx: ProtocolContext;
  svc: EmcaService;
  clients: ClientStore;
  passwords: PasswordCache;
  bodyLimit: number;
  emKeyRequired: boolean;
}

/** The caller's address: TCP peer (X-Forwarded-For only through a trusted proxy). */
export function peerAddress(c: HonoContext<AppEnv>, trustedProxies: string[]): string {
  return clientAddress(c, trustedProxies);
}

export function mountV4(app: Hono<AppEnv>, d: V4Deps): void {
  const { ctx } = d;
  app.use(
    '/emCAServices/rest/*',
    bodyLimit({ maxSize: d.bodyLimit, onError: (c) => c.json(failure(M.tooLarge), 413) }),
  );
  app.post('/emCAServices/rest/:method', async (c) => {
    const method = c.req.param('method');
    const handler = v4Methods[method.toLowerCase()];
    if (!handler) return c.json(failure(M.invalidParameter), 404);
    // rekey's sample answers carry `aliasname` (null), failures too.
    const fail = (result: string): Envelope => (handler === rekey ? { ...failure(result), aliasname: null } : failure(result));
    try {
      return c.json(await handle(c, d, handler));
    } catch (e) {
      if (e instanceof EmcaFailure) return c.json(fail(e.result), e.status);
      if (isDatabaseUnavailable(e)) {
        ctx.log.warn({ reqId: c.get('requestId'), method }, 'emca: database unavailable');
        c.header('Retry-After', String(DATABASE_RETRY_AFTER));
        return c.json(fail(M.internal), 503);
      }
      ctx.log.error({ err: e, reqId: c.get('requestId'), method }, 'emca: unhandled error');
      return c.json(fail(M.internal), 500);
    }
  });
}

async function handle(c: HonoContext<AppEnv>, d: V4Deps, handler: Handler): Promise<Envelope> {
  // 1. Outer envelope.
  let outer: unknown;
  try {
    outer = await readJsonBody(c);
  } catch (e) {
    if ((e as Error)?.name === 'BodyLimitError' || (e as { rule?: string }).rule === 'input.body.size') throw new EmcaFailure(M.tooLarge, 413);
    throw new EmcaFailure(M.invalidParameter);
  }
  if (!outer || typeof outer !== 'object' || Array.isArray(outer)) throw new EmcaFailure(M.invalidParameter);
  const o = new Inner(outer as Record<string, unknown>);
  const requestData = o.get('requestData') ?? o.get('encodedString');
  const userName = o.get('userName');
  if (typeof requestData !== 'string' || typeof userName !== 'string' || !requestData || !userName) throw new EmcaFailure(M.invalidParameter);

  const client = await d.clients.forCall(userName);
  if (!client || client.disabled) throw new EmcaFailure(M.invalidRequestDetails);
  const emKey = c.req.header('emKey');
  if ((d.emKeyRequired || emKey !== undefined) && !emKeyMatches(emKey, client.emKeyHash)) throw new EmcaFailure(M.invalidRequestDetails);

  // 2-3. Decrypt and parse.
  const aesKey = d.ctx.secrets.unseal(aesPurpose(client.id), client.aesKeySealed);
  const plain = decryptRequestData(aesKey, client.aesMode as AesMode, requestData);
  if (!plain) throw new EmcaFailure(M.invalidInput);
  let innerObj: unknown;
  try {
    innerObj = parseClientJson(plain.toString('utf8'));
  } catch {
    throw new EmcaFailure(M.invalidInput);
  }
  if (!innerObj || typeof innerObj !== 'object' || Array.isArray(innerObj)) throw new EmcaFailure(M.invalidInput);
  const inner = new Inner(innerObj as Record<string, unknown>);

  // 4. Credentials: the inner userName must be the outer one.
  const innerUser = inner.get('userName');
  const password = inner.get('password');
  if (typeof innerUser !== 'string' || typeof password !== 'string') throw new EmcaFailure(M.invalidParameter);
  if (innerUser !== client.userName || !(await d.passwords.verify(client.id, client.passwordHash, password))) {
    throw new EmcaFailure(M.invalidRequestDetails);
  }
  // 5. Source address.
  const ip = peerAddress(c, d.ctx.config.trustedProxies);
  if (!ipAllowed(ip, client.allowedIps)) {
    d.ctx.log.info({ client: client.id, ip }, 'emca: source address not allowed');
    throw new EmcaFailure(M.invalidRequestDetails);
  }
  // 6-7. The method: parameters, signature, operation.
  return handler({ caller: { client, principal: principalFor(client, 'cms-signature') }, inner, svc: d.svc });
}
