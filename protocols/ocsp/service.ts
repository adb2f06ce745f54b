import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { createHash, randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import type { Signer } from '../../src/ca/signer.ts';
import type { IssuerView, ProtocolContext } from '../../src/protocol-context.ts';
import type { StatusChange } from '../../src/events.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { keyIdentifier } from '../../src/pki/extensions.ts';
import { subjectPublicKeyBits } from '../../src/pki/keyinfo.ts';
import { encodeCertId, type OcspCertId } from '../../src/pki/ocsp-request.ts';
import {
  encodeOcspResponse,
  encodeResponseData,
  encodeSingleResponse,
  responderIdByKey,
} from '../../src/pki/ocsp-response.ts';
import { ResponseCache, serialKey, type CachedResponse, type CertState } from './cache.ts';
import { ocspIssuerSettings, ocspResponders } from './schema.ts';
import type { IssuerSettings, ServerSettings } from './settings.ts';
import { errorResponseFor, HASH_NAMES, hashKey, MALFORMED, readRequest, TRY_LATER, UNAUTHORIZED } from './wire.ts';

export type { CachedResponse, CertState } from './cache.ts';
export { ocspStatusFor } from './wire.ts';

/** An issuer as the responder needs it: the seam's view plus what CertIDs and responder ids hash. */
export interface OcspIssuer extends IssuerView {
  subjectDer: Buffer;
  spki: Buffer;
  keyId: Buffer;
}

/** Everything needed to answer for one issuer: its settings and who signs. */
export interface IssuerState {
  issuer: OcspIssuer;
  settings: IssuerSettings;
  signer: Signer;
  /** Identifies the signer: a change flushes this issuer's cached responses. */
  signerKey: string;
  responderId: Buffer;
  /** BasicOCSPResponse.certs: the delegated responder certificate (empty when the issuer signs). */
  certs: Buffer[];
  delegated: boolean;
  responderDbId?: string;
  /** Serials of CA certificates this issuer signed (subordinate issuers): answered `good`. */
  childSerials: Set<string>;
  /** Issuer name/key hashes by CertID hash algorithm. */
  hashes: Record<'sha1' | 'sha256' | 'sha384' | 'sha512', { name: Buffer; key: Buffer }>;
}

export type Answer = CachedResponse | Buffer;

const NOTIFY_CHANNEL = 'certgate_ocsp';
/** Advisory lock for responder provisioning/rotation (one instance at a time). */
export const LOCK_OCSP_ROTATE = 727274105;

/**
 * The OCSP responder: request → status → signed response, with a per-CertID cache of pre-signed
 * responses.
 *
 * Freshness (the first answer after a revoke/suspend/reinstate must show it):
 *  - same process: `events.onStatusChange` fires synchronously inside `revoke()` after the commit
 *    and before the call returns; the handler drops the certificate's cached responses at once
 *    (then re-signs them in the background from the database).
 *  - other instances on one PostgreSQL: the changing instance sends `NOTIFY certgate_ocsp` from
 *    its `revocation.afterChange` hook, which `revoke()` awaits, so by the time the revoking call
 *    returns the notification is committed; listeners drop their entries within milliseconds.
 *  - safety net for anything that missed a notification (a lost LISTEN connection, a writer
 *    without this module): every instance polls the `revocations` history (`id > last`, on the
 *    primary key, once per `pollMs`) and drops the entries of each changed certificate.
 *  - a fill that read the database before a change and finishes after it is not cached (a
 *    global invalidation counter is compared before and after the read).
 * The cached path itself does no database work: a Map lookup and a Buffer write.
 */
export class OcspService {
  readonly cache = new ResponseCache(() => this.server.cacheEntries);
  private states = new Map<string, IssuerState>();

  /** Each served issuer's delegated responder certificate (DER), for the expiry gauge; none when the issuer signs itself. */
  responderCertificates(): { issuerId: string; der: Buffer }[] {
    return [...this.states.values()].flatMap((s) => (s.delegated && s.certs[0] ? [{ issuerId: s.issuer.id, der: s.certs[0] }] : []));
  }
  private byHash = new Map<string, IssuerState>();
  private invalidations = 0;
  /** Fills in flight by cache key (single flight), with the certificate they are for. */
  private readonly filling = new Map<string, { p: Promise<CachedResponse>; sk: string }>();
  private signers = new Map<string, Signer>();
  private issuerCache = new Map<string, OcspIssuer>();
  private lastRegistryReload = 0;
  private lastRevocationId = -1;
  private seenRevocations = new Set<number>();
  private fingerprint = '';
  private timer?: NodeJS.Timeout;
  private ticks = 0;
  private unsubscribe: (() => void)[] = [];
  private pendingNotifies: Promise<unknown>[] = [];
  private pg?: import('postgres').Sql;
  private listenHandle?: { unlisten(): Promise<void> };
  private readonly instanceId = randomUUID().slice(0, 8);
  private polling = false;
  private warnedFallback = new Set<string>();
  readonly stats = { hits: 0, misses: 0, live: 0, malformed: 0, unauthorized: 0, tryLater: 0, internalError: 0 };

  constructor(
    readonly ctx: ProtocolContext,
    readonly server: ServerSettings,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------------

  /** Builds the issuer states and subscribes to status changes (no timers). */
  async init(): Promise<void> {
    await this.reload(false);
    this.unsubscribe.push(this.ctx.events.onStatusChange((e) => this.onStatusChange(e)));
    this.unsubscribe.push(
      this.ctx.events.onIssued((e) => {
        this.invalidate(e.issuerId, e.serial, false);
        // emitIssued is synchronous, and presign's signature is too until its first await: run it
        // after the issuing request's answer is on its way, not before the pipeline returns. The
        // invalidation count is taken now: a revocation in between must still win.
        const before = this.invalidations;
        setImmediate(() => void this.presign(e.issuerId, e.serial, before));
      }),
    );
    // revoke() awaits its hooks: our NOTIFY is committed before the revoking call returns.
    this.ctx.revocation.afterChange(async () => {
      const p = this.pendingNotifies;
      this.pendingNotifies = [];
      await Promise.allSettled(p);
    });
    await this.pollRevocations();
  }

  /** Background work: LISTEN (PostgreSQL), the freshness poll, refresh and responder rotation. */
  async start(): Promise<void> {
    if (this.ctx.store.kind === 'postgres') {
      this.pg = (this.ctx.store.db as unknown as { $client: import('postgres').Sql }).$client;
      try {
        this.listenHandle = await this.pg.listen(NOTIFY_CHANNEL, (payload) => this.onNotify(payload));
      } catch (err) {
        this.ctx.log.warn({ err }, 'ocsp: LISTEN failed; relying on the revocations poll');
      }
    }
    if (this.server.autoProvision) await this.rotateDue().catch((err) => this.ctx.log.error({ err }, 'ocsp: responder provisioning failed'));
    this.timer = setInterval(() => void this.tick(), Math.max(50, this.server.pollMs));
    this.timer.unref();
    await this.reload(false); // warns about issuers still without a responder
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await this.listenHandle?.unlisten().catch(() => {});
    this.listenHandle = undefined;
  }

  private async tick(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await this.pollRevocations();
      this.ticks++;
      const every = Math.max(1, Math.round(5000 / Math.max(50, this.server.pollMs)));
      if (this.ticks % every === 0) {
        await this.checkConfig();
        await this.refreshDue();
      }
      if (this.ticks % (every * 12) === 0 && this.server.autoProvision) await this.rotateDue();
    } catch (err) {
      this.ctx.log.error({ err }, 'ocsp: background tick failed');
    } finally {
      this.polling = false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Issuer states
  // -------------------------------------------------------------------------------------------

  /** Rebuilds every issuer's state from the registry and this module's tables. */
  async reload(reloadRegistry = true): Promise<void> {
    if (reloadRegistry) await this.ctx.issuers.reload();
    const db = this.ctx.store.db;
    const [settingRows, responderRows] = await Promise.all([
      db.select().from(ocspIssuerSettings),
      db.select().from(ocspResponders).where(eq(ocspResponders.status, 'active')).orderBy(asc(ocspResponders.notBefore)),
    ]);
    const settingsBy = new Map(settingRows.map((r) => [r.issuerId, r.settings as Partial<IssuerSettings>]));
    const now = Date.now();
    const responderBy = new Map<string, (typeof responderRows)[number]>();
    for (const r of responderRows) if (r.notAfter.getTime() > now && r.notBefore.getTime() <= now + 60_000) responderBy.set(r.issuerId, r);
    const all = this.ctx.issuers.list().map((v) => this.ocspIssuer(v));
    const next = new Map<string, IssuerState>();
    const nextHash = new Map<string, IssuerState>();
    for (const issuer of all) {
      const settings: IssuerSettings = { ...this.server.defaults, ...(settingsBy.get(issuer.id) ?? {}) };
      const resp = settings.signing === 'delegated' ? responderBy.get(issuer.id) : undefined;
      let signer: Signer;
      let signerKey: string;
      let spki: Uint8Array;
      let certs: Buffer[] = [];
      if (resp) {
        let s = this.signers.get(resp.id);
        if (!s || !resp.keyRef) {
          s = (await this.responderKey(resp)).signer;
          this.signers.set(resp.id, s);
        }
        signer = s;
        signerKey = `responder:${resp.id}`;
        const cert = Buffer.from(resp.certDer);
        spki = parseCertificate(cert).spki;
        certs = [cert];
      } else {
        if (settings.signing === 'delegated' && this.timer && !this.warnedFallback.has(issuer.id)) {
          this.warnedFallback.add(issuer.id);
          this.ctx.log.warn({ issuer: issuer.id }, 'ocsp: no active responder certificate; the issuer signs until one is created');
        }
        signer = (await this.ctx.keys.forIssuer(issuer.id)).signer;
        signerKey = `issuer:${issuer.id}:${issuer.keyId.toString('hex')}`;
        spki = issuer.spki;
      }
      const bits = subjectPublicKeyBits(issuer.spki);
      const hashes = {} as IssuerState['hashes'];
      for (const h of HASH_NAMES) {
        hashes[h] = { name: createHash(h).update(issuer.subjectDer).digest(), key: createHash(h).update(bits).digest() };
      }
      const state: IssuerState = {
        issuer,
        settings,
        signer,
        signerKey,
        responderId: responderIdByKey(subjectPublicKeyBits(spki)),
        certs,
        delegated: !!resp,
        responderDbId: resp?.id,
        childSerials: new Set(all.filter((c) => c.parentId === issuer.id && c.id !== issuer.id).map((c) => parseCertificate(c.certDer).serialHex)),
        hashes,
      };
      const prev = this.states.get(issuer.id);
      if (prev && (prev.signerKey !== signerKey || JSON.stringify(prev.settings) !== JSON.stringify(settings))) this.flushIssuer(issuer.id);
      next.set(issuer.id, state);
      for (const h of HASH_NAMES) nextHash.set(hashKey(h, hashes[h].name, hashes[h].key), state);
    }
    for (const id of this.states.keys()) if (!next.has(id)) this.flushIssuer(id);
    this.states = next;
    this.byHash = nextHash;
    // Drop unsealed keys of responders no longer active.
    const activeIds = new Set([...next.values()].map((s) => s.responderDbId).filter(Boolean));
    for (const id of this.signers.keys()) if (!activeIds.has(id)) this.signers.delete(id);
    this.fingerprint = await this.configFingerprint();
  }

  /** The seam's issuer view with its parsed name, key and key id (kept while its certificate is the same). */
  private ocspIssuer(v: IssuerView): OcspIssuer {
    const hit = this.issuerCache.get(v.id);
    if (hit && hit.certDer.equals(v.certDer) && hit.status === v.status) return hit;
    const parsed = parseCertificate(v.certDer);
    const o = { ...v, subjectDer: Buffer.from(parsed.subject), spki: Buffer.from(parsed.spki), keyId: parsed.ski ?? keyIdentifier(parsed.spki) };
    this.issuerCache.set(v.id, o);
    return o;
  }

  /**
   * A responder's key from the key store. A responder created before the key store kept its sealed
   * PKCS#8 in its own row: that key moves into the key store once, and the row keeps only its reference.
   */
  private async responderKey(resp: typeof ocspResponders.$inferSelect) {
    if (resp.keyRef) return this.ctx.keys.open(resp.keyRef);
    if (!resp.keySealed) throw new Error(`OCSP responder ${resp.id} has no key`);
    const pkcs8 = this.ctx.secrets.unseal(`ocsp-responder-key:${resp.id}`, resp.keySealed);
    const key = await this.ctx.keys.adopt(pkcs8, `responder:${resp.issuerId}`);
    pkcs8.fill(0);
    await this.ctx.store.db.update(ocspResponders).set({ keyRef: key.keyRef, keySealed: null }).where(eq(ocspResponders.id, resp.id));
    return key;
  }

  state(issuerId: string): IssuerState | undefined {
    return this.states.get(issuerId);
  }

  private async configFingerprint(): Promise<string> {
    const db = this.ctx.store.db;
    const [a, b] = await Promise.all([
      db.select({ id: ocspResponders.id, s: ocspResponders.status, u: ocspResponders.updatedAt }).from(ocspResponders).orderBy(asc(ocspResponders.id)),
      db.select({ id: ocspIssuerSettings.issuerId, u: ocspIssuerSettings.updatedAt }).from(ocspIssuerSettings).orderBy(asc(ocspIssuerSettings.issuerId)),
    ]);
    // Issuers another instance created or retired: the registry re-read through the seam.
    await this.ctx.issuers.reload();
    const c = this.ctx.issuers.list().sort((x, y) => x.id.localeCompare(y.id));
    return JSON.stringify([a.map((r) => [r.id, r.s, r.u.getTime()]), b.map((r) => [r.id, r.u.getTime()]), c.map((r) => [r.id, r.status])]);
  }

  /** Reloads when another instance changed responders, settings or issuers. */
  private async checkConfig(): Promise<void> {
    const fp = await this.configFingerprint();
    if (fp !== this.fingerprint) await this.reload(true);
  }

  /** Tells other instances to reload their issuer states now (they also notice within ~5 s). */
  notifyConfigChanged(): void {
    this.notify('cfg');
  }

  // -------------------------------------------------------------------------------------------
  // Answering
  // -------------------------------------------------------------------------------------------

  /**
   * Answers one DER OCSPRequest: a cached entry (pre-signed, with caching metadata) or the DER of
   * a response made for this request only (live-signed with a nonce, several CertIDs, or an error).
   */
  answer(der: Buffer): Answer | Promise<Answer> {
    const req = readRequest(der, this.server.maxRequests, (err) => this.ctx.log.debug({ err }, 'ocsp: unparseable request'));
    if (!req) {
      this.stats.malformed++;
      return MALFORMED;
    }
    const now = Date.now();
    if (req.certIds.length === 1) {
      const cid = req.certIds[0];
      const hit = this.cache.get(cid.der.toString('latin1'));
      if (hit && now < hit.nextUpdate) {
        const st = this.states.get(hit.issuerId);
        if (st) {
          if (now >= hit.refreshAt) void this.refresh(hit);
          if (!req.nonceExtension || st.settings.nonce === 'ignore') {
            this.stats.hits++;
            return hit;
          }
          this.stats.live++;
          return this.signLive(st, [{ certId: cid.der, state: hit.state }], req.nonceExtension, now);
        }
      }
    }
    return this.answerSlow(req.certIds, req.nonceExtension, now);
  }

  private async answerSlow(certIds: OcspCertId[], nonceExt: Buffer | undefined, now: number): Promise<Answer> {
    let st: IssuerState | undefined;
    for (const c of certIds) {
      const s = await this.issuerFor(c);
      if (!s || (st && s !== st)) {
        // An issuer we do not serve, or CertIDs of several issuers (one responder cannot sign for all).
        this.stats.unauthorized++;
        return UNAUTHORIZED;
      }
      st = s;
    }
    const state = st!;
    try {
      if (certIds.length === 1) {
        const entry = await this.fill(state, certIds[0]);
        if (!nonceExt || state.settings.nonce === 'ignore') {
          this.stats.misses++;
          return entry;
        }
        this.stats.live++;
        return await this.signLive(state, [{ certId: certIds[0].der, state: entry.state }], nonceExt, now);
      }
      const singles: { certId: Buffer; state: CertState }[] = [];
      for (const c of certIds) {
        const hit = this.cache.get(c.der.toString('latin1'));
        singles.push({ certId: c.der, state: hit && Date.now() < hit.nextUpdate ? hit.state : await this.loadState(state, c.serialHex) });
      }
      this.stats.live++;
      return await this.signLive(state, singles, state.settings.nonce === 'ignore' ? undefined : nonceExt, now);
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        this.ctx.log.warn({ issuer: state.issuer.id }, 'ocsp: database unavailable, answering tryLater');
        this.stats.tryLater++;
        return TRY_LATER;
      }
      this.ctx.log.error({ err, issuer: state.issuer.id }, 'ocsp: could not answer');
      this.stats.internalError++;
      return errorResponseFor(err);
    }
  }

  private async issuerFor(c: OcspCertId): Promise<IssuerState | undefined> {
    const k = hashKey(c.hash, c.issuerNameHash, c.issuerKeyHash);
    let st = this.byHash.get(k);
    if (!st && Date.now() - this.lastRegistryReload > 30_000) {
      // Another instance may have created this issuer: reload at most every 30 s.
      this.lastRegistryReload = Date.now();
      await this.reload(true);
      st = this.byHash.get(k);
    }
    return st;
  }

  /** The status of a certificate of this issuer, from the database. */
  async loadState(st: IssuerState, serial: string): Promise<CertState> {
    const row = await this.ctx.certificates.statusBySerial(st.issuer.id, serial);
    if (!row) return st.childSerials.has(serial) ? { kind: 'good' } : { kind: 'unknown' };
    if (row.status === 'valid') return { kind: 'good' };
    const reason = row.status === 'hold' ? 6 : row.revocationReason ?? undefined;
    return { kind: 'revoked', time: row.revokedAt ?? new Date(0), reason: reason === 0 ? undefined : reason };
  }

  /**
   * Reads the status, signs a response for this CertID and caches it (unless a change raced the read).
   * Concurrent misses for one CertID share one read and one signature.
   */
  private fill(st: IssuerState, c: { der: Buffer; serialHex: string }): Promise<CachedResponse> {
    const key = c.der.toString('latin1');
    const running = this.filling.get(key);
    if (running) return running.p;
    const entry = { p: undefined as unknown as Promise<CachedResponse>, sk: serialKey(st.issuer.id, c.serialHex) };
    entry.p = this.fillOnce(st, c).finally(() => {
      if (this.filling.get(key) === entry) this.filling.delete(key);
    });
    this.filling.set(key, entry);
    return entry.p;
  }

  private async fillOnce(st: IssuerState, c: { der: Buffer; serialHex: string }): Promise<CachedResponse> {
    const before = this.invalidations;
    const state = await this.loadState(st, c.serialHex);
    const entry = await this.makeEntry(st, Buffer.from(c.der), c.serialHex, state);
    if (this.invalidations === before && this.states.get(st.issuer.id) === st) this.cache.store(entry);
    return entry;
  }

  private async makeEntry(st: IssuerState, certId: Buffer, serial: string, state: CertState): Promise<CachedResponse> {
    const thisUpdate = Math.floor(Date.now() / 1000) * 1000;
    const validity = state.kind === 'unknown' ? Math.min(st.settings.validitySeconds, this.server.unknownTtlSeconds) : st.settings.validitySeconds;
    const nextUpdate = thisUpdate + validity * 1000;
    const der = await this.sign(st, [{ certId, state }], undefined, thisUpdate, nextUpdate);
    return {
      key: certId.toString('latin1'),
      issuerId: st.issuer.id,
      serial,
      certId,
      der,
      state,
      thisUpdate,
      nextUpdate,
      refreshAt: nextUpdate - validity * 1000 * st.settings.refreshFraction,
      etag: `"${createHash('sha256').update(der).digest('base64url').slice(0, 27)}"`,
      lastModified: new Date(thisUpdate).toUTCString(),
      expires: new Date(nextUpdate).toUTCString(),
    };
  }

  private signLive(st: IssuerState, singles: { certId: Buffer; state: CertState }[], nonceExt: Buffer | undefined, now: number): Buffer | Promise<Buffer> {
    const thisUpdate = Math.floor(now / 1000) * 1000;
    // nextUpdate of live answers: the same validity a pre-signed one would have (none for unknown: shorter).
    const unknown = singles.some((s) => s.state.kind === 'unknown');
    const validity = unknown ? Math.min(st.settings.validitySeconds, this.server.unknownTtlSeconds) : st.settings.validitySeconds;
    return this.sign(st, singles, nonceExt, thisUpdate, thisUpdate + validity * 1000);
  }

  private sign(st: IssuerState, singles: { certId: Uint8Array; state: CertState }[], nonceExt: Buffer | undefined, thisUpdate: number, nextUpdate: number): Buffer | Promise<Buffer> {
    const tu = new Date(thisUpdate);
    const nu = new Date(nextUpdate);
    const tbs = encodeResponseData({
      responderId: st.responderId,
      producedAt: new Date(Math.floor(Date.now() / 1000) * 1000),
      singleResponses: singles.map((s) => encodeSingleResponse({ certId: s.certId, status: s.state, thisUpdate: tu, nextUpdate: nu })),
      extensions: nonceExt ? [nonceExt] : undefined,
    });
    const sig = st.signer.sign(tbs);
    const wrap = (signature: Buffer) => encodeOcspResponse({ tbsResponseData: tbs, signatureAlgorithm: st.signer.algorithmIdentifier, signature, certs: st.certs });
    return sig instanceof Promise ? sig.then(wrap) : wrap(sig);
  }

  // -------------------------------------------------------------------------------------------
  // Cache
  // -------------------------------------------------------------------------------------------

  /** Drops every cached response for this certificate; `resign` signs fresh ones in the background. */
  invalidate(issuerId: string, serial: string, resign = true): void {
    this.invalidations++;
    // A fill in flight may have read the old status: later requests must not join it.
    const target = serialKey(issuerId, serial);
    for (const [k, f] of this.filling) if (f.sk === target) this.filling.delete(k);
    const dropped = this.cache.takeSerial(issuerId, serial);
    if (!resign || !dropped.length) return;
    const st = this.states.get(issuerId);
    if (!st) return;
    for (const e of dropped) void this.fill(st, { der: e.certId, serialHex: e.serial }).catch(() => {});
  }

  flushIssuer(issuerId: string): void {
    this.invalidations++;
    this.filling.clear();
    this.cache.dropIssuer(issuerId);
  }

  flushAll(): void {
    this.invalidations++;
    this.filling.clear();
    this.cache.clear();
  }

  private onStatusChange(e: StatusChange): void {
    this.invalidate(e.issuerId, e.serial);
    this.notify(`s|${e.issuerId}|${e.serial}`);
  }

  private notify(msg: string): void {
    if (!this.pg) return;
    this.pendingNotifies.push(this.pg.notify(NOTIFY_CHANNEL, `${this.instanceId}|${msg}`).catch((err) => this.ctx.log.warn({ err }, 'ocsp: NOTIFY failed')));
  }

  private onNotify(payload: string): void {
    const [from, kind, issuerId, serial] = payload.split('|');
    if (from === this.instanceId) return;
    if (kind === 's' && issuerId && serial) this.invalidate(issuerId, serial);
    else if (kind === 'cfg') void this.reload(true).catch((err) => this.ctx.log.error({ err }, 'ocsp: reload failed'));
  }

  /** Cross-instance safety net: certificates changed since the last poll lose their cached responses. */
  async pollRevocations(): Promise<number> {
    const floor = Math.max(0, this.lastRevocationId - 200);
    const rows = await this.ctx.revocation.changesSince(floor, 5000);
    let n = 0;
    const first = this.lastRevocationId < 0;
    for (const r of rows) {
      if (this.seenRevocations.has(r.id)) continue;
      this.seenRevocations.add(r.id);
      if (r.id > this.lastRevocationId) this.lastRevocationId = r.id;
      if (!first && this.cache.hasSerial(r.issuerId, r.serial)) {
        this.invalidate(r.issuerId, r.serial);
        n++;
      }
    }
    if (first && this.lastRevocationId < 0) this.lastRevocationId = 0;
    if (this.seenRevocations.size > 2000) {
      const min = this.lastRevocationId - 1000;
      for (const id of this.seenRevocations) if (id < min) this.seenRevocations.delete(id);
    }
    return n;
  }

  /** Re-signs a cached response nearing nextUpdate (status re-read from the database). */
  private async refresh(e: CachedResponse): Promise<void> {
    if (e.refreshing) return;
    e.refreshing = true;
    try {
      const st = this.states.get(e.issuerId);
      if (!st || this.cache.get(e.key) !== e) return;
      const before = this.invalidations;
      const state = await this.loadState(st, e.serial);
      const next = await this.makeEntry(st, e.certId, e.serial, state);
      if (this.cache.get(e.key) === e && this.invalidations === before) this.cache.store(next);
    } catch (err) {
      this.ctx.log.warn({ err, issuer: e.issuerId }, 'ocsp: refresh failed');
    } finally {
      e.refreshing = false;
    }
  }

  /** Scheduled: re-sign cached responses past their refresh point (hot ones refresh on use too). */
  async refreshDue(limit = 2000): Promise<number> {
    const now = Date.now();
    const due: CachedResponse[] = [];
    for (const e of this.cache.values()) {
      if (now >= e.nextUpdate) this.cache.drop(e);
      else if (now >= e.refreshAt && due.length < limit) due.push(e);
    }
    for (const e of due) await this.refresh(e);
    return due.length;
  }

  /**
   * Pre-signs the SHA-1 CertID response of a certificate right after issuance — the CertID RFC 5019
   * clients send. This runs on the issuance path, so other hash algorithms are signed on their
   * first request and cached from then on, instead of costing every issuance a second signature.
   */
  async presign(issuerId: string, serial: string, before = this.invalidations): Promise<void> {
    const st = this.states.get(issuerId);
    if (!st) return;
    // Just issued, so good: no database read. A change racing this is caught by the counter.
    try {
      for (const h of ['sha1'] as const) {
        const der = encodeCertId({ hash: h, issuerNameHash: st.hashes[h].name, issuerKeyHash: st.hashes[h].key, serial });
        const entry = await this.makeEntry(st, der, serial, { kind: 'good' });
        if (this.invalidations !== before || this.states.get(issuerId) !== st) return;
        this.cache.store(entry);
      }
    } catch (err) {
      this.ctx.log.warn({ err, issuer: issuerId }, 'ocsp: pre-signing failed');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Responder rotation (the management itself lives in responders.ts)
  // -------------------------------------------------------------------------------------------

  /** Set by the responder manager: creates responders that are missing or due for rotation. */
  rotateDue: () => Promise<void> = async () => {};
}
