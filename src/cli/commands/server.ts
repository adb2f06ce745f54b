/**
 * The commands that open the data directory themselves: `serve`, `init` (the only two that may
 * create one) and `migrate`. Each holds the directory's lock while it works (data-dir-lock.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import type { Config } from '../../config.ts';
import { NoDataError } from '../../data-dir.ts';
import { acquireDataDirLock, DataDirLockedError, type DataDirLock, type LockHolder } from '../../data-dir-lock.ts';
import type { ProtocolModule } from '../../protocol.ts';
import { askInitOptions, createProductionCa, validateInitOptions, wantsProductionCa, type InitCaOptions } from './init-ca.ts';
import { CliError, EXIT_CLIENT, int, keyTypes } from './shared.ts';

/** A CLI command holding the lock finishes within seconds: `serve` and `init` wait this long for it. */
const WAIT_FOR_CLI_MS = 30_000;

export function registerServerCommands(program: Command, loadConfig: () => Config, protocols: ProtocolModule[]): void {
  program
    .command('serve')
    .description('run the gateway: HTTP and HTTPS, every protocol, scheduled CRL refresh (creates the data directory on first start)')
    .option('--no-https', 'serve HTTP only')
    .action((opts: { https: boolean }) => serve(loadConfig, protocols, opts));

  program
    .command('init')
    .description('create the data directory: database, key-encryption key, CAs, built-in profiles. Without CA options: the development hierarchy (or, on a terminal, asks)')
    .option('--dev', 'the throw-away development hierarchy (the default without CA options and without a terminal)')
    .addOption(new Option('--key-type <type>', 'key type of both new CAs (default ec-p384)').choices(keyTypes))
    .option('--root-id <id>', 'root CA issuer id', 'root')
    .option('--root-name <cn>', 'root CA common name (display name too)')
    .option('--root-subject <dn>', 'root CA subject DN, e.g. "CN=Example Root CA,O=Example"')
    .option('--root-validity-days <days>', 'root CA validity', int, 7300)
    .option('--root-path-length <n>', 'root CA basicConstraints pathLen (default: none)', int)
    .option('--issuing-id <id>', 'issuing CA issuer id', 'issuing')
    .option('--issuing-name <cn>', 'issuing CA common name')
    .option('--issuing-subject <dn>', 'issuing CA subject DN')
    .option('--issuing-validity-days <days>', 'issuing CA validity', int, 3650)
    .option('--path-length <n>', 'issuing CA basicConstraints pathLen (0: it signs no CA)', int, 0)
    .option('--public-url <url>', 'base URL of the CRL, OCSP and caIssuers links embedded in the CAs (set CERTGATE_PUBLIC_URL to the same for serve)')
    .option('--import-cert <file>', 'import an existing CA: its certificate (PEM)')
    .option('--import-key <file>', 'its private key (PEM; encrypted keys need --password-file)')
    .option('--import-p12 <file>', 'import an existing CA from a PKCS#12 file (certificate and key)')
    .option('--import-id <id>', 'issuer id of the imported CA', 'issuing')
    .option('--password-file <file>', 'password of an encrypted key or PKCS#12 (else CERTGATE_INIT_PASSWORD)')
    .action(async (opts: InitCaOptions) => {
      validateInitOptions(opts);
      if (!opts.dev && !wantsProductionCa(opts) && process.stdin.isTTY && process.stderr.isTTY) opts = await askInitOptions(opts);
      validateInitOptions(opts);
      const production = wantsProductionCa(opts);
      let config = loadConfig();
      if (opts.publicUrl) config = { ...config, publicUrl: opts.publicUrl.replace(/\/+$/, '') };
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      const lock = await lockWaitingForCli(config.dataDir, 'init', 'init');
      try {
        const { createContext } = await import('../../context.ts');
        const { redactUrl } = await import('../../db/client.ts');
        const existed = config.databaseUrl ? false : existsSync(join(config.dataDir, 'db', 'PG_VERSION'));
        const where = config.databaseUrl ? `PostgreSQL ${redactUrl(config.databaseUrl)}` : `PGlite in ${join(config.dataDir, 'db')}`;
        const ctx = await createContext(config, { bootstrap: !production });
        try {
          if (!production) {
            console.log(existed ? `${config.dataDir} is already initialised (${where})` : `initialised ${config.dataDir}: ${where}, key-encryption key, CA hierarchy, built-in profiles`);
            return;
          }
          const present = ctx.issuers.list().map((i) => i.id);
          if (present.length > 0) throw new CliError(`${where} already holds CAs (${present.join(', ')}): a production set-up needs a new data directory or database`, EXIT_CLIENT);
          const made = await createProductionCa(ctx, opts);
          const { builtinProfiles } = await import('../../profiles/builtin.ts');
          await ctx.profiles.seed(builtinProfiles);
          console.log([`initialised ${config.dataDir}: ${where}, key-encryption key, built-in profiles`, ...made].join('\n'));
          if (!opts.publicUrl && !process.env.CERTGATE_PUBLIC_URL) process.stderr.write(`certgate: warning: no --public-url or CERTGATE_PUBLIC_URL: the CAs' CRL, OCSP and caIssuers links point to ${config.publicUrl}\n`);
        } finally {
          await ctx.close();
        }
      } finally {
        lock.release();
      }
    });

  program
    .command('migrate')
    .description('apply database migrations to an existing database and exit (PostgreSQL: an empty database too)')
    .action(async () => {
      const config = loadConfig();
      // The server's modules load only for the commands that use them: CLI start-up time.
      const { openDatabase, redactUrl } = await import('../../db/client.ts');
      if (config.databaseUrl) {
        // Many instances share one PostgreSQL; migrations serialise on an advisory lock.
        const d = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
        await d.close();
        console.log(`migrations applied (PostgreSQL ${redactUrl(config.databaseUrl)})`);
        return;
      }
      if (!existsSync(config.dataDir)) throw new NoDataError(`no Certgate data directory at ${config.dataDir}`, config.dataDir);
      const lock = await lockWaitingForCli(config.dataDir, 'cli', 'migrate');
      try {
        const d = await openDatabase({ dataDir: config.dataDir, mustExist: true });
        await d.close();
        console.log(`migrations applied (PGlite in ${join(config.dataDir, 'db')})`);
      } finally {
        lock.release();
      }
    });
}

/**
 * `certgate serve`. Signal handlers go in first, so a SIGTERM or SIGINT at any moment — even
 * during start-up — ends in the same drain: stop accepting, finish in-flight requests, stop the
 * protocols, close the database, release the lock, exit 0.
 */
async function serve(loadConfig: () => Config, protocols: ProtocolModule[], opts: { https: boolean }): Promise<void> {
  let stop: ((signal: string) => void) | undefined;
  let pending: string | undefined;
  const onSignal = (signal: string) => (stop ? stop(signal) : (pending ??= signal));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const config = loadConfig();
  // A long-lived server keeps its heap near its live data: V8 reads this flag whenever it sets the next
  // full collection's limit, so setting it now (before the load) takes effect.
  if (config.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
  const { createContext } = await import('../../context.ts');
  const { startServer } = await import('../../server.ts');
  const { printBanner } = await import('../banner.ts');
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = await lockWaitingForCli(config.dataDir, 'serve', 'serve');
  const ctx = await createContext(config, { serving: true }).catch((e) => {
    lock.release();
    throw e;
  });
  const server = await startServer(ctx, protocols, { https: opts.https }).catch(async (e) => {
    await ctx.close().catch(() => {});
    lock.release();
    throw e;
  });
  let closing = false;
  stop = (signal) => {
    if (closing) return;
    closing = true;
    ctx.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      ctx.log.error('in-flight requests did not finish within 15 s: exiting anyway');
      process.exit(1);
    }, 15_000);
    force.unref();
    void (async () => {
      await server.stop();
      await ctx.close();
      lock.release();
      ctx.log.info('stopped');
      process.exit(0);
    })();
  };
  if (pending) return stop(pending);
  printBanner(ctx, server, protocols);
}

/** Takes the lock; a CLI command holding it is waited for, a server (or anything else alive) refused. */
async function lockWaitingForCli(dataDir: string, role: LockHolder['role'], command: string): Promise<DataDirLock> {
  const deadline = Date.now() + WAIT_FOR_CLI_MS;
  for (;;) {
    try {
      return acquireDataDirLock(dataDir, role, command);
    } catch (e) {
      if (!(e instanceof DataDirLockedError) || e.holder.role === 'serve' || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
