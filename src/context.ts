import type { Logger } from 'pino';
import { AuditLog } from './audit.ts';
import { TokenService } from './admin/tokens.ts';
import { ensureDevHierarchy } from './ca/bootstrap.ts';
import { CrlPublisher } from './ca/crl-publisher.ts';
import { loadKek } from './ca/kek.ts';
import { SoftwareKeyStore } from './ca/keystore.ts';
import { Pkcs11KeyStore } from './ca/pkcs11/keystore.ts';
import { pkcs11Settings } from './ca/pkcs11/settings.ts';
import type { Pkcs11Settings } from './ca/pkcs11/token.ts';
import { hkdfSync } from 'node:crypto';
import { IssuerRegistry } from './ca/registry.ts';
import type { Config } from './config.ts';
import { CertificateWriter } from './db/certificate-writer.ts';
import { openDatabase, type Database, type Db } from './db/client.ts';
import { Events } from './events.ts';
import { loggableError } from './http/errors.ts';
import { createLogger } from './log.ts';
import { IssuancePipeline } from './issuance/pipeline.ts';
import { PersistHooks } from './issuance/persist-hooks.ts';
import { RevocationService } from './issuance/revocation.ts';
import { Metrics } from './metrics.ts';
import { registerStateGauges } from './metrics-state.ts';
import { builtinProfiles } from './profiles/builtin.ts';
import { ProfileStore } from './profiles/store.ts';
import { CryptoPool } from './workers/crypto-pool.ts';

/** Everything a request handler or CLI command needs, built once per process from the config. */
export interface Context {
  config: Config;
  database: Database;
  db: Db;
  kek: Buffer;
  log: Logger;
  events: Events;
  metrics: Metrics;
  audit: AuditLog;
  issuers: IssuerRegistry;
  /** Private keys: issuers', OCSP responders', protocols' service identities. */
  keys: SoftwareKeyStore;
  /** The HSM key store when CERTGATE_PKCS11_MODULE is set (also reachable as keys.pkcs11). */
  hsm?: Pkcs11KeyStore;
  profiles: ProfileStore;
  pipeline: IssuancePipeline;
  /** Protocols' onPersist hooks, run by the certificate writer in the insert's statement or transaction. */
  persistHooks: PersistHooks;
  revocation: RevocationService;
  crls: CrlPublisher;
  tokens: TokenService;
  /** Request checks (CSR, POP signature, MAC key) on worker threads beside the event loop. */
  crypto: CryptoPool;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Create the development hierarchy and built-in profiles when missing (default true). */
  bootstrap?: boolean;
  /**
   * Create what is missing — data directory, KEK, database (default true: `serve`, `init`). When
   * false, missing data is a NoDataError and nothing is bootstrapped: every other command.
   */
  create?: boolean;
  logger?: Logger;
  /** A long-lived server: trade a few seconds on a new embedded database for its memory (see openDatabase). */
  serving?: boolean;
}

export async function createContext(config: Config, opts: ContextOptions = {}): Promise<Context> {
  // One serializer for errors, whoever logs them: no SQL parameters or error properties reach the log.
  const log = (opts.logger ?? createLogger(config.logLevel)).child({}, { serializers: { err: loggableError, error: loggableError } });
  const create = opts.create !== false;
  // Checked before anything opens: a bad HSM setting stops the start with its own message.
  const hsmSettings = pkcs11Settings(config);
  // Creating: the KEK first, which makes the data directory 0700. Not creating: the database
  // first, whose absence is the clearer message.
  let kek = create ? loadKek(config.dataDir, config.kek) : undefined;
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize, connectTimeout: config.dbConnectTimeout, mustExist: !create, pgliteSharedBuffersMb: config.pgliteSharedBuffersMb, reopenFresh: opts.serving });
  try {
    kek ??= loadKek(config.dataDir, config.kek, { create: false });
  } catch (e) {
    await database.close().catch(() => {});
    throw e;
  }
  const db = database.db;
  const events = new Events();
  const metrics = new Metrics(config.metricsEnabled);
  const audit = new AuditLog(db);
  const hsm = hsmSettings && openHsm(hsmSettings, kek, log);
  const keys = new SoftwareKeyStore(db, kek, hsm);
  const issuers = new IssuerRegistry(db, keys, config.publicUrl);
  const profiles = new ProfileStore(db);
  try {
    if (opts.bootstrap !== false && create) {
      if (await ensureDevHierarchy(database, issuers, config.caKeyType)) log.info('created the development CA hierarchy');
      await profiles.seed(builtinProfiles);
    } else {
      await issuers.load();
    }
  } catch (e) {
    // A failed start (e.g. a wrong key-encryption key) must not leave the database open: a leaked
    // PGlite is a second instance on the directory, a leaked postgres.js pool holds connections.
    await database.close().catch(() => {});
    hsm?.close();
    throw e;
  }
  const persistHooks = new PersistHooks();
  const writer = new CertificateWriter(database, database.kind === 'pglite' ? 1 : 4, 256, persistHooks);
  const crypto = new CryptoPool(config.cryptoWorkers);
  const pipeline = new IssuancePipeline({ db, issuers, profiles, writer, audit, events, metrics, kek, publicUrl: config.publicUrl, crypto });
  const revocation = new RevocationService(db, audit, events, metrics);
  const crls = new CrlPublisher(database, issuers, metrics, {
    publicUrl: config.publicUrl,
    validityHours: config.crlValidityHours,
    refreshFraction: config.crlRefreshFraction,
  });
  revocation.afterChange((issuerId, partition) => crls.afterChange(issuerId, partition));
  if (config.metricsEnabled) registerStateGauges(metrics, { issuers, database });
  const tokens = new TokenService(db, kek);
  return {
    config,
    database,
    db,
    kek,
    log,
    events,
    metrics,
    audit,
    issuers,
    keys,
    hsm,
    profiles,
    pipeline,
    persistHooks,
    revocation,
    crls,
    tokens,
    crypto,
    async close() {
      await crypto.close();
      await database.close();
      hsm?.close();
    },
  };
}

/**
 * The HSM key store, connected now when the token is there. A token that is away does not stop
 * the start: its issuers load from their certificates and sign once it is back (/readyz says 503).
 */
function openHsm(settings: Pkcs11Settings, kek: Buffer, log: Logger): Pkcs11KeyStore {
  const rejectionKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'certgate pkcs11 implicit rejection', 32));
  const hsm = new Pkcs11KeyStore(settings, rejectionKey);
  if (hsm.start()) log.info({ module: settings.module, token: hsm.token.tokenLabel }, 'PKCS#11 token connected');
  else log.warn({ module: settings.module, reason: hsm.token.reason }, 'PKCS#11 token not available yet; issuers it holds refuse to sign until it is');
  return hsm;
}
