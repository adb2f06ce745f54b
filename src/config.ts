import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseCidr } from './http/client-address.ts';

/**
 * Every setting Certgate reads, from the environment (documented in README "Settings").
 * Parsed once at start; a bad value stops the process with a message naming the variable.
 */
const bool = z
  .union([z.boolean(), z.string()])
  .transform((v) => (typeof v === 'boolean' ? v : ['1', 'true', 'yes', 'on'].includes(v.toLowerCase())));
const port = z.coerce.number().int().min(0).max(65535);

export const configSchema = z.object({
  dataDir: z.string().default('./data'),
  databaseUrl: z.string().url().optional(),
  // Two connections per core (at least 4): a small pool lets postgres.js pipeline statements on each
  // connection — fewer round trips, syscalls and backend wake-ups than one statement per connection
  // (ACME benchmark, 2 cores: 4 instead of 10 gave ~20 % more flows/s at ~15 % less CPU per order).
  dbPoolSize: z.coerce.number().int().positive().default(() => Math.max(4, 2 * availableParallelism())),
  /**
   * Seconds to wait for a PostgreSQL connection before a request fails with 503 (postgres.js's
   * default, 30 s, would hold every request that long while the database is unreachable).
   */
  dbConnectTimeout: z.coerce.number().positive().default(3),
  /** Embedded PGlite: shared_buffers in MB (PostgreSQL's own default, 128, costs that much RSS for good). */
  pgliteSharedBuffersMb: z.coerce.number().int().min(1).max(4096).default(16),
  /** Key-encryption secret for issuer private keys (base64 or hex, ≥ 32 bytes); else `<dataDir>/kek`. */
  kek: z.string().optional(),
  host: z.string().default('0.0.0.0'),
  httpPort: port.default(8080),
  httpsPort: port.default(8443),
  /** Base URL written into certificates (CRL DP, AIA) and shown in the banner. */
  publicUrl: z.string().url().optional(),
  tlsNames: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
  /** Key type of the generated development hierarchy. */
  caKeyType: z.enum(['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519']).default('ec-p256'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Seconds a client has to send a whole request (headers and body) before it gets 408 and is cut off. */
  requestTimeout: z.coerce.number().positive().default(30),
  /** Seconds a client has to send the request headers. */
  headersTimeout: z.coerce.number().positive().default(10),
  /** Largest request body accepted by any endpoint, in bytes. */
  bodyLimit: z.coerce.number().int().positive().default(1024 * 1024),
  /** Hours a full CRL is valid (nextUpdate - thisUpdate). */
  crlValidityHours: z.coerce.number().positive().default(24),
  /** Regenerate a CRL when less than this fraction of its validity remains. */
  crlRefreshFraction: z.coerce.number().min(0.05).max(0.95).default(0.5),
  /** Seconds between checks of CRL freshness and other scheduled jobs. */
  schedulerIntervalSeconds: z.coerce.number().positive().default(60),
  /** Lifetime of admin tokens made by `certgate token create`, in seconds. */
  adminTokenTtl: z.coerce.number().int().positive().default(30 * 86400),
  /** Lifetime of the token a console password login returns, in seconds. */
  consoleSessionTtl: z.coerce.number().int().min(60).max(7 * 86400).default(8 * 3600),
  /** Trust X-Forwarded-For from these proxies: addresses or CIDR ranges, IPv4 or IPv6 (comma-separated). */
  trustedProxies: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .refine((list) => list.every((e) => { try { return !!parseCidr(e); } catch { return false; } }), 'each entry must be an IP address or CIDR range'),
  metricsEnabled: bool.default(true),
  /** Access log: every request, or only those answered with 4xx/5xx (hot OCSP responders). */
  accessLog: z.enum(['all', 'errors', 'off']).default('all'),
  /** Worker threads that parse and verify CSRs beside the event loop (0: inline). */
  cryptoWorkers: z.coerce.number().int().min(0).max(16).default(1),
  /**
   * V8's old-generation growth under load, in percent over the live data (0: V8's own heuristics,
   * which let a ~55 MB live heap grow to ~170 MB of mostly garbage between full collections).
   */
  heapGrowingPercent: z.coerce.number().int().min(0).max(400).default(25),
  /** Hours between scheduled backups (0: none). */
  backupInterval: z.coerce.number().min(0).default(0),
  /** Where scheduled backups go (default `<dataDir>/backups`). */
  backupDir: z.string().optional(),
  /** Scheduled archives kept; older ones are deleted after each new one. */
  backupKeep: z.coerce.number().int().min(1).default(7),
  /** The secret of scheduled backups and of API backups that name none: a key file, or a passphrase (file). */
  backupKeyFile: z.string().optional(),
  backupPassphraseFile: z.string().optional(),
  backupPassphrase: z.string().optional(),
  /** PKCS#11 module (shared library) of the HSM holding CA keys; unset = no HSM (src/ca/pkcs11/settings.ts checks the rest). */
  pkcs11Module: z.string().min(1).optional(),
  /** Token label of the HSM token; or pkcs11Slot. */
  pkcs11Token: z.string().min(1).optional(),
  pkcs11Slot: z.coerce.number().int().min(0).optional(),
  /** User PIN of the token (or pkcs11PinFile); kept in a Secret so that printing the config never shows it. */
  pkcs11Pin: z.string().min(1).transform((s) => new Secret(s)).optional(),
  pkcs11PinFile: z.string().min(1).optional(),
  /** Sessions opened on the token: concurrent signatures (default 4, libuv's thread pool). */
  pkcs11Sessions: z.coerce.number().int().min(1).max(64).default(4),
});

/** A value that prints as [redacted] (JSON, console, pino) and is read with reveal(). */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[redacted]';
  }
}

export type Config = z.infer<typeof configSchema> & { publicUrl: string; dataDir: string; backupDir: string };

const envNames: Record<string, keyof z.input<typeof configSchema>> = {
  CERTGATE_DATA_DIR: 'dataDir',
  DATABASE_URL: 'databaseUrl',
  CERTGATE_DB_POOL_SIZE: 'dbPoolSize',
  CERTGATE_DB_CONNECT_TIMEOUT: 'dbConnectTimeout',
  CERTGATE_PGLITE_SHARED_BUFFERS: 'pgliteSharedBuffersMb',
  CERTGATE_KEK: 'kek',
  CERTGATE_HOST: 'host',
  CERTGATE_HTTP_PORT: 'httpPort',
  CERTGATE_HTTPS_PORT: 'httpsPort',
  CERTGATE_PUBLIC_URL: 'publicUrl',
  CERTGATE_TLS_NAMES: 'tlsNames',
  CERTGATE_CA_KEY_TYPE: 'caKeyType',
  CERTGATE_LOG_LEVEL: 'logLevel',
  CERTGATE_BODY_LIMIT: 'bodyLimit',
  CERTGATE_REQUEST_TIMEOUT: 'requestTimeout',
  CERTGATE_HEADERS_TIMEOUT: 'headersTimeout',
  CERTGATE_CRL_VALIDITY_HOURS: 'crlValidityHours',
  CERTGATE_CRL_REFRESH_FRACTION: 'crlRefreshFraction',
  CERTGATE_SCHEDULER_INTERVAL: 'schedulerIntervalSeconds',
  CERTGATE_ADMIN_TOKEN_TTL: 'adminTokenTtl',
  CERTGATE_CONSOLE_SESSION_TTL: 'consoleSessionTtl',
  CERTGATE_TRUSTED_PROXIES: 'trustedProxies',
  CERTGATE_METRICS: 'metricsEnabled',
  CERTGATE_CRYPTO_WORKERS: 'cryptoWorkers',
  CERTGATE_HEAP_GROWING_PERCENT: 'heapGrowingPercent',
  CERTGATE_ACCESS_LOG: 'accessLog',
  CERTGATE_BACKUP_INTERVAL: 'backupInterval',
  CERTGATE_BACKUP_DIR: 'backupDir',
  CERTGATE_BACKUP_KEEP: 'backupKeep',
  CERTGATE_BACKUP_KEY_FILE: 'backupKeyFile',
  CERTGATE_BACKUP_PASSPHRASE_FILE: 'backupPassphraseFile',
  CERTGATE_BACKUP_PASSPHRASE: 'backupPassphrase',
  CERTGATE_PKCS11_MODULE: 'pkcs11Module',
  CERTGATE_PKCS11_TOKEN: 'pkcs11Token',
  CERTGATE_PKCS11_SLOT: 'pkcs11Slot',
  CERTGATE_PKCS11_PIN: 'pkcs11Pin',
  CERTGATE_PKCS11_PIN_FILE: 'pkcs11PinFile',
  CERTGATE_PKCS11_SESSIONS: 'pkcs11Sessions',
};

export class ConfigError extends Error {}

/** Reads the configuration from `env` (process.env by default) plus explicit overrides. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<z.input<typeof configSchema>> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const [envName, key] of Object.entries(envNames)) {
    const v = env[envName];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  Object.assign(raw, overrides);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const byKey = Object.fromEntries(Object.entries(envNames).map(([e, k]) => [k, e]));
    const msg = parsed.error.issues
      .map((i) => `${byKey[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`invalid configuration: ${msg}`);
  }
  const c = parsed.data;
  if (c.backupInterval > 0 && !c.backupKeyFile && !c.backupPassphraseFile && !c.backupPassphrase) {
    throw new ConfigError('invalid configuration: CERTGATE_BACKUP_INTERVAL: scheduled backups need CERTGATE_BACKUP_KEY_FILE, CERTGATE_BACKUP_PASSPHRASE_FILE or CERTGATE_BACKUP_PASSPHRASE');
  }
  const publicUrl = (c.publicUrl ?? `http://localhost:${c.httpPort}`).replace(/\/+$/, '');
  return { ...c, dataDir: resolve(c.dataDir), publicUrl, backupDir: resolve(c.backupDir ?? `${c.dataDir}/backups`) };
}
