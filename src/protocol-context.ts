import type { KeyObject } from 'node:crypto';
import type { Context as HonoContext, Hono, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { AuditRecord } from './audit.ts';
import type { Signer } from './ca/signer.ts';
import type { Config } from './config.ts';
import type { AppEnv } from './http/app-env.ts';
import type { Database, Tx } from './db/client.ts';
import type { IssuedEvent, StatusChange } from './events.ts';
import type { EnrollmentRequest, Identifier, IssuanceResult, IssuedCertificate, KeySpec } from './issuance/request.ts';
import type { Metrics } from './metrics.ts';
import type { Profile, ProfileInput } from './profiles/model.ts';
import type { AlgorithmIdentifier } from './pki/algorithm-identifier.ts';
import type { MacCheck, MacCheckInput, MacKeyScheme, SignatureCheck } from './workers/crypto-jobs.ts';

/**
 * THE SEAM (issue "narrow protocol seam"): everything a protocol adapter under protocols/ may
 * use of the core. A protocol receives one ProtocolContext per mount and reaches nothing else:
 * no raw core tables, no KEK, no other protocol. tests/architecture enforces it.
 *
 * What is deliberately absent: the KEK, the issuer registry's private state, core table writes,
 * the token service. A protocol that needs more asks for a method here, not for a raw handle.
 */
export interface ProtocolContext {
  /** The protocol's name (`acme`, `est`, `scep`, `cmp`, `emca`, `ocsp`); scopes secrets and logs. */
  readonly name: string;
  /** Server-wide settings a protocol may read (public URL, ports, limits, proxies); never the KEK. */
  readonly config: Readonly<Omit<Config, 'kek'>>;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly audit: { record(r: AuditRecord): Promise<void> };
  readonly events: {
    onStatusChange(fn: (e: StatusChange) => void): () => void;
    onIssued(fn: (e: IssuedEvent) => void): () => void;
  };

  readonly pipeline: ProtocolPipeline;
  readonly revocation: ProtocolRevocation;
  readonly certificates: CertificateQueries;
  readonly issuers: IssuerQueries;
  /** Creating and importing CAs and their CRL settings, on behalf of a protocol's authorised principal. */
  readonly issuerAdmin: IssuerAdmin;
  readonly crls: CrlQueries;
  readonly profiles: ProfileQueries;
  readonly keys: KeyStoreHandle;
  /** Checks of what a request carries, run on worker threads beside the event loop (no CA key there). */
  readonly crypto: RequestCrypto;
  readonly secrets: SecretBox;
  readonly store: ProtocolStore;
  readonly http: HttpHelpers;
  /** Operations one protocol offers the others, by a name and contract declared here (never an import). */
  readonly services: ProtocolServices;

  /**
   * A router mounted at `/api/v1/<name>/`, behind admin-token authentication. Use
   * `http.requireRole(...)` per route for least privilege.
   */
  adminRouter(): Hono<ProtocolAppEnv>;
}

/** Hono variables available to protocol routes (request id; operator after admin auth). */
export type ProtocolAppEnv = AppEnv;

// ── pipeline ─────────────────────────────────────────────────────────────────

export interface ProtocolPipeline {
  /** Runs the one issuance pipeline. Throws IssuanceError (typed reason code) on refusal. */
  issue(req: EnrollmentRequest): Promise<IssuanceResult>;
  /** State of a request held for manual approval (pending / issued with certificate / rejected). */
  getRequest(requestId: string): Promise<IssuanceResult>;
  /**
   * Registers a hook that runs inside the transaction that stores a certificate this protocol
   * requested (including one issued later, when an officer approves a held request). Used for
   * ACME order completion, SCEP CertPoll, CMP pollRep, EST 202 retry. A hook that throws aborts
   * the insert. Never a database trigger.
   */
  onPersist(hook: PersistHook): void;
  /**
   * The same, as SQL composed into the certificate INSERT itself (one round trip; for hot paths
   * such as ACME finalization). `fragment(rows)` returns ONE data-modifying statement (UPDATE …
   * FROM rows, INSERT … SELECT … FROM rows) on the protocol's own tables, where `rows` is a relation
   * of this protocol's inserted certificates with columns id, issuer_id, serial, principal,
   * idempotency_key, metadata (jsonb). Registering the same `key` again replaces the fragment.
   */
  onPersistSql(key: string, fragment: PersistSql): void;
}

export type PersistSql = (rows: string) => string;

export interface PersistedCertificate {
  certificate: IssuedCertificate;
  principalId: string;
  idempotencyKey?: string;
  /** The request's metadata as given to `issue`. */
  metadata: Record<string, unknown>;
  /** Set when the certificate completes a request that was held for approval. */
  pendingRequestId?: string;
}

export type PersistHook = (tx: ProtocolTx, persisted: PersistedCertificate) => Promise<void>;

// ── revocation and read-only queries ────────────────────────────────────────

export interface ProtocolRevocation {
  revoke(issuerId: string, serial: string, reason: number, actor: string): Promise<void>;
  suspend(issuerId: string, serial: string, actor: string): Promise<void>;
  reinstate(issuerId: string, serial: string, actor: string): Promise<void>;
  /**
   * Status changes (revoke, suspend, reinstate) recorded after `afterId` by any instance, oldest
   * first: a status protocol's cross-instance safety net (OCSP cache invalidation).
   */
  changesSince(afterId: number, limit?: number): Promise<{ id: number; issuerId: string; serial: string }[]>;
  /** Runs after every committed status change, before the changing call returns (e.g. to flush a NOTIFY). */
  afterChange(fn: () => Promise<void>): void;
}

/** A certificate's status as status protocols (OCSP) need it: one small read. */
export interface CertificateStatus {
  status: 'valid' | 'revoked' | 'hold';
  revokedAt?: Date;
  revocationReason?: number;
  notAfter: Date;
}

/** Filters for a principal's own certificates (emCA look-ups and expiry lists). */
export interface CertificateFilter {
  serials?: string[];
  status?: 'valid' | 'revoked' | 'hold';
  notAfterFrom?: Date;
  notAfterTo?: Date;
  /** Each key's metadata value must equal the string given. */
  metadata?: Record<string, string>;
  /** Default and maximum 1000. */
  limit?: number;
}

export interface CertificateRecord extends IssuedCertificate {
  status: 'valid' | 'revoked' | 'hold';
  revokedAt?: Date;
  revocationReason?: number;
  protocol: string;
  principalId: string;
  spkiSha256: string;
  metadata: Record<string, unknown>;
}

export interface CertificateQueries {
  byId(id: string): Promise<CertificateRecord | undefined>;
  bySerial(issuerId: string, serial: string): Promise<CertificateRecord | undefined>;
  /** The certificate stored for this DER (exact match), e.g. a TLS client certificate or CMS signer. */
  byDer(der: Uint8Array): Promise<CertificateRecord | undefined>;
  byIdempotencyKey(protocol: string, principalId: string, key: string): Promise<CertificateRecord | undefined>;
  /** Every certificate with this serial, whatever its issuer (ACME ARI CertIDs name the serial and the AKI). */
  bySerialAnyIssuer(serial: string): Promise<CertificateRecord[]>;
  statusBySerial(issuerId: string, serial: string): Promise<CertificateStatus | undefined>;
  /** A principal's certificates, ordered by notAfter. */
  ofPrincipal(principalId: string, filter?: CertificateFilter): Promise<CertificateRecord[]>;
}

export interface IssuerView {
  id: string;
  name: string;
  subject: string;
  certDer: Buffer;
  /** Issuer certificates from this one up to the root, DER. */
  chain: Buffer[];
  notBefore: Date;
  notAfter: Date;
  status: 'active' | 'retired';
  isDefault: boolean;
  isRoot: boolean;
  keyAlgorithm: string;
  /** The issuer's key in the key store (sign; decrypt for RSA). */
  keyRef: string;
  /** The issuer that signed this one (undefined for a root). */
  parentId?: string;
  /** The issuer taking over at a rollover an operator has announced (`certgate issuer rollover`). */
  successorId?: string;
}

export interface IssuerQueries {
  get(id: string): Promise<IssuerView | undefined>;
  list(): IssuerView[];
  default(): IssuerView | undefined;
  /** The issuer whose certificate signed `certDer` (by AKI/issuer name and signature), if one of ours. */
  issuerOf(certDer: Uint8Array): Promise<IssuerView | undefined>;
  /** Re-reads the issuers (another instance may have created, retired or re-keyed one). */
  reload(): Promise<void>;
}

/** An issuer's complete CRL as published (the same DER `/crl/<issuer>.crl` serves). */
export interface CrlView {
  der: Buffer;
  /** The cRLNumber. */
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
}

/** What creating an issuer takes (the admin API's POST /issuers body). */
export interface IssuerCreateInput {
  id: string;
  name: string;
  /** RFC 4514 subject DN; default CN=<name>. */
  subject?: string;
  /** Signing issuer; absent = a self-signed root. */
  parentId?: string;
  keyType?: 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ed25519';
  validityDays: number;
  pathLength?: number;
  default?: boolean;
}

/** What importing an issuer takes (the admin API's POST /issuers/import body). */
export interface IssuerImportInput {
  id: string;
  name?: string;
  certificatePem: string;
  /** Unencrypted PEM; sealed under the KEK (or into the key store), never returned. */
  privateKeyPem: string;
  parentId?: string;
  default?: boolean;
}

/** The CRL settings an operator may change (unset = the server's defaults). */
export interface CrlSettings {
  crlValidityHours?: number;
  deltaCrlHours?: number;
  crlPartitions?: number;
}

/**
 * CA management through the seam (issue 16, emCA V5 CA Management): the same checks and audit as
 * the admin API's issuer routes. The protocol decides who may call these (its own roles); `actor`
 * is recorded in the audit log. Refusals are typed IssuanceErrors (BadRequest, Conflict, NotFound).
 */
export interface IssuerAdmin {
  create(input: IssuerCreateInput, actor: string): Promise<IssuerView>;
  import(input: IssuerImportInput, actor: string): Promise<IssuerView>;
  crlSettings(issuerId: string): Promise<CrlSettings>;
  updateCrlSettings(issuerId: string, patch: CrlSettings, actor: string): Promise<CrlSettings>;
}

export interface CrlQueries {
  /**
   * The newest complete CRL of an issuer (built on first use); undefined for an unknown issuer.
   * Read-only: a protocol cannot make the core build or sign a CRL on demand beyond that.
   */
  latest(issuerId: string): Promise<CrlView | undefined>;
}

export interface ProfileQueries {
  get(name: string): Promise<Profile | undefined>;
  list(): Promise<Profile[]>;
  /**
   * Creates a profile the protocol itself needs (e.g. emCA's client-signing profile) when no profile
   * of that name exists; never changes an existing one (operators own profiles once they exist).
   */
  ensure(definition: ProfileInput): Promise<void>;
}

// ── request checks off the event loop ──────────────────────────────────────

/**
 * The CPU-heavy checks of a request's own material — a proof-of-possession signature by the key
 * it carries, a MAC key derived from a shared secret — on the crypto worker threads
 * (CERTGATE_CRYPTO_WORKERS), inline when there are none. Same results either way.
 */
export interface RequestCrypto {
  checkSignature(spki: Uint8Array, algorithm: AlgorithmIdentifier, data: Uint8Array, signature: Uint8Array): Promise<SignatureCheck>;
  macKey(scheme: MacKeyScheme, secret: Uint8Array): Promise<Buffer>;
  /** A shared-secret MAC checked, then the signature `then` names only if the MAC holds: one worker trip. */
  macCheck(input: MacCheckInput): Promise<MacCheck>;
}

// ── keys ─────────────────────────────────────────────────────────────────────

/**
 * RSA decryption without a padding oracle. PKCS#1 v1.5 uses implicit rejection: a bad padding
 * yields a deterministic pseudo-random key of `expectedLength` bytes, never a distinguishable
 * error (Bleichenbacher/Marvin). Callers must treat a wrong key as a later MAC/padding failure.
 */
export interface Decrypter {
  readonly publicKey: KeyObject;
  decrypt(ciphertext: Uint8Array, scheme: RsaScheme, expectedLength?: number): Promise<Buffer>;
}
export type RsaScheme = { kind: 'pkcs1-v1_5' } | { kind: 'oaep'; hash: 'sha1' | 'sha256' | 'sha384' | 'sha512' };

/** A key held by the key store (software, sealed; or PKCS#11). The private key never leaves it. */
export interface KeyHandle {
  readonly keyRef: string;
  readonly signer: Signer;
  /** RSA keys only. */
  readonly decrypter?: Decrypter;
}

/**
 * A certificate for a service identity of the protocol (SCEP RA, CMP signer, EST server), issued
 * from a system profile by the core (never by a protocol principal), with its key in the key store.
 */
export interface ServiceIdentity {
  key: KeyHandle;
  certDer: Buffer;
  /** Issuer chain above certDer, nearest first. */
  chain: Buffer[];
  issuerId: string;
}

export interface KeyStoreHandle {
  /** An issuer's key: signs and (RSA) decrypts; e.g. SCEP envelopes encrypted to the CA. */
  forIssuer(issuerId: string): Promise<KeyHandle>;
  /**
   * Ensures (creates on first call, renews when less than a third of its life remains) a service
   * identity named `name` (unique per protocol) from `systemProfile` (e.g. `scep-ra`, `cmp-ra`).
   */
  serviceIdentity(opts: { name: string; systemProfile: string; subject: string; key: KeySpec; issuerId?: string; sans?: Identifier[] }): Promise<ServiceIdentity>;
  /** Generates a key of this protocol's own (e.g. an OCSP responder's) in the key store; keep `keyRef`. */
  generate(spec: KeySpec, label: string): Promise<KeyHandle>;
  /** A key this protocol generated (or adopted), by reference; another protocol's or an issuer's is refused. */
  open(keyRef: string): Promise<KeyHandle>;
  /** Moves into the key store a private key the protocol held itself before the key store existed (PKCS#8 DER). */
  adopt(pkcs8: Uint8Array, label: string): Promise<KeyHandle>;
}

/** Seal/unseal secrets under the KEK, with purposes scoped to this protocol. */
export interface SecretBox {
  seal(purpose: string, plaintext: Uint8Array): Buffer;
  unseal(purpose: string, sealed: Uint8Array): Buffer;
  /** A key derived from the KEK for this purpose (HKDF-SHA256), e.g. a token MAC key shared by every instance. */
  derive(purpose: string, length: number): Buffer;
}

// ── services protocols offer each other ───────────────────────────────────────

/** A delegated OCSP responder certificate as the OCSP protocol keeps it. */
export interface OcspResponderInfo {
  id: string;
  issuerId: string;
  serial: string;
  certificateId: string;
  keyAlgorithm: string;
  notBefore: string;
  notAfter: string;
  /** active: signs the issuer's OCSP responses now; retired: replaced (still valid); revoked. */
  status: string;
  createdBy: string;
  createdAt: string;
  certificatePem: string;
}

/**
 * The OCSP protocol's responder management, offered to other protocols (emCA V5 OCSP Management):
 * the operations its own admin API performs, with the caller's actor recorded in the audit log.
 */
export interface OcspResponderService {
  /** An issuer's OCSP state: who signs (the delegated responder or the CA itself), settings, active responder. */
  status(issuerId: string): Promise<{ issuerId: string; signedBy: string; settings: Record<string, unknown>; activeResponder: OcspResponderInfo | null }>;
  list(issuerId?: string): Promise<OcspResponderInfo[]>;
  get(responderId: string): Promise<OcspResponderInfo>;
  /** Issues a responder certificate for the issuer and makes it the active one (create and rotate). */
  create(issuerId: string, actor: string, opts?: { validityDays?: number }): Promise<OcspResponderInfo>;
  /** Maps a (retired, still valid) responder certificate to its CA: it signs that CA's responses again. */
  map(responderId: string, actor: string): Promise<OcspResponderInfo>;
  revoke(responderId: string, actor: string, reason?: string | number, replace?: boolean): Promise<{ revoked: OcspResponderInfo; replacement?: OcspResponderInfo }>;
  /** Partial update of an issuer's OCSP settings (signing, response validity and caching, nonce, rotation). */
  updateSettings(issuerId: string, patch: unknown, actor: string): Promise<Record<string, unknown>>;
}

/** Every service a protocol may offer, by name. The name's first part is the offering protocol. */
export interface ServiceContracts {
  'ocsp.responders': OcspResponderService;
}

export interface ProtocolServices {
  /** Offers a service; only the protocol its name starts with may (`ocsp.` → ocsp). The last offer wins. */
  provide<K extends keyof ServiceContracts>(name: K, impl: ServiceContracts[K]): void;
  /** A service another protocol offers, or undefined when that protocol is not mounted. */
  get<K extends keyof ServiceContracts>(name: K): ServiceContracts[K] | undefined;
}

// ── storage ──────────────────────────────────────────────────────────────────

/**
 * Database access for the protocol's OWN tables (protocols/<name>/schema.ts). Typed as the full
 * drizzle handle for convenience; the architecture test refuses any import of core tables
 * (src/db/schema.ts) under protocols/.
 */
export interface ProtocolStore {
  readonly kind: Database['kind'];
  readonly db: Database['db'];
  query: Database['query'];
  withLock: Database['withLock'];
  transaction<T>(fn: (tx: ProtocolTx) => Promise<T>): Promise<T>;
}
export type ProtocolTx = Tx;

// ── HTTP helpers (one of each, src/http) ─────────────────────────────────────

export interface HttpHelpers {
  /** The client's address: socket peer, or X-Forwarded-For walked right-to-left over trusted proxies (CIDR). */
  clientAddress(c: HonoContext): string;
  /**
   * Reads a JSON body with the size and depth limits, refusing NUL bytes and lone surrogates in
   * strings; throws BadRequest (typed) on any violation.
   */
  jsonBody(c: HonoContext, opts?: { maxBytes?: number; maxDepth?: number }): Promise<unknown>;
  /** Reads a raw body up to maxBytes (default: server body limit); throws BadRequest when larger. */
  rawBody(c: HonoContext, maxBytes?: number): Promise<Uint8Array>;
  /** Admin-router middleware: the operator must hold at least this role. */
  requireRole(role: 'auditor' | 'officer' | 'administrator'): MiddlewareHandler<ProtocolAppEnv>;
  /** The TLS client certificate chain (leaf first, DER) when the request came over HTTPS with one. */
  peerCertificates(c: HonoContext): Buffer[];
  /** TLS channel-binding value (tls-unique on TLS 1.2; RFC 9266 tls-exporter on TLS 1.3). */
  channelBinding(c: HonoContext): { type: 'tls-unique' | 'tls-exporter'; value: Buffer } | undefined;
}
