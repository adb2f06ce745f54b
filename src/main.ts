import { Command } from 'commander';
import { registerCommands } from './cli/commands.ts';
import { openAdminClient } from './cli/admin-client.ts';
import { printBanner } from './cli/banner.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createContext } from './context.ts';
import { openDatabase } from './db/client.ts';
import { isIssuanceError } from './issuance/errors.ts';
import type { ProtocolModule } from './protocol.ts';
import { startServer } from './server.ts';

/**
 * The `certgate` command. The protocol list is handed in by the entry point (bin/certgate.mjs),
 * so src/ never imports protocols/.
 */
export async function main(argv: string[], protocols: ProtocolModule[]): Promise<void> {
  const program = new Command('certgate')
    .description('Certgate: one issuance pipeline behind ACME, EST, SCEP, CMP, emCA REST and OCSP')
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the gateway: HTTP and HTTPS, every protocol, scheduled CRL refresh')
    .option('--no-https', 'serve HTTP only')
    .action(async (opts: { https: boolean }) => {
      const config = loadConfig();
      const ctx = await createContext(config);
      const server = await startServer(ctx, protocols, { https: opts.https });
      printBanner(ctx, server, protocols);
      let closing = false;
      const shutdown = async (signal: string) => {
        if (closing) return;
        closing = true;
        ctx.log.info({ signal }, 'shutting down: finishing in-flight requests');
        const force = setTimeout(() => process.exit(1), 15_000);
        force.unref();
        await server.stop();
        await ctx.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });

  program
    .command('migrate')
    .description('apply database migrations and exit')
    .action(async () => {
      const config = loadConfig();
      const d = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
      await d.close();
      console.log(`migrations applied (${config.databaseUrl ? 'PostgreSQL' : 'PGlite in ' + config.dataDir})`);
    });

  registerCommands(program, () => loadConfig(), protocols);
  for (const p of protocols) p.registerCommands?.(program, () => loadConfig(), (config) => openAdminClient(config, protocols));

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError || isIssuanceError(e)) {
      console.error(`certgate: ${e.message}`);
      process.exit(2);
    }
    const msg = (e as Error)?.message ?? String(e);
    console.error(`certgate: ${msg}`);
    process.exit(1);
  }
}
