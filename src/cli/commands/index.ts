/**
 * Every `certgate` command, one file per group. The operator commands are admin-API calls
 * (admin-client.ts: through the running server, or in-process when none runs); `serve`, `init`
 * and `migrate` open the data directory themselves.
 */
import type { Command } from 'commander';
import { loadConfig as loadEnvConfig, type Config } from '../../config.ts';
import type { ProtocolModule } from '../../protocol.ts';
import { openAdminClient } from '../admin-client.ts';
import { registerAccessCommands } from './access.ts';
import { registerBackupCommands } from './backup.ts';
import { registerCertCommands } from './cert.ts';
import { registerCrlCommands } from './crl.ts';
import { registerHsmCommands } from './hsm.ts';
import { registerIssuerCommands } from './issuer.ts';
import { registerProfileCommands } from './profile.ts';
import { registerRequestCommands } from './request.ts';
import { registerServerCommands } from './server.ts';
import { makeRun } from './shared.ts';

export function registerCommands(program: Command, protocols: ProtocolModule[]): void {
  // `--data-dir` on every command (before or after the subcommand), over CERTGATE_DATA_DIR.
  program.option('--data-dir <dir>', 'data directory (default: CERTGATE_DATA_DIR, else ./data)').configureHelp({ showGlobalOptions: true });
  let command = program.name();
  program.hook('preAction', (_program, action) => {
    command = fullName(action);
  });
  const loadConfig = (): Config => {
    const dataDir = program.opts<{ dataDir?: string }>().dataDir;
    return loadEnvConfig(process.env, dataDir ? { dataDir } : {});
  };
  const open = (config: Config) => openAdminClient(config, protocols, command);

  registerServerCommands(program, loadConfig, protocols);
  const run = makeRun(() => open(loadConfig()));
  registerIssuerCommands(program, run);
  registerHsmCommands(program, run);
  registerProfileCommands(program, run);
  registerCertCommands(program, run);
  registerRequestCommands(program, run);
  registerCrlCommands(program, run);
  registerAccessCommands(program, run);
  registerBackupCommands(program, loadConfig);
  for (const p of protocols) p.registerCommands?.(program, loadConfig, open);
}

/** `token create`: how the lock file names its holder. */
function fullName(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x?.parent; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}
