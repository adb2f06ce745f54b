import { Command } from 'commander';
import { registerCommands } from './cli/commands/index.ts';
import { ConfigError } from './config.ts';
import { NoDataError } from './data-dir.ts';
import { DataDirLockedError } from './data-dir-lock.ts';
import { isIssuanceError } from './issuance/errors.ts';
import type { ProtocolModule } from './protocol.ts';

/**
 * The `certgate` command. The protocol list is handed in by the entry point (bin/certgate.mjs),
 * so src/ never imports protocols/.
 */
export async function main(argv: string[], protocols: ProtocolModule[]): Promise<void> {
  const program = new Command('certgate')
    .description('Certgate: one issuance pipeline behind ACME, EST, SCEP, CMP, emCA REST and OCSP')
    .showHelpAfterError();
  registerCommands(program, protocols);

  try {
    await program.parseAsync(argv);
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    console.error(`certgate: ${msg}`);
    // 2: the caller's mistake (bad setting, no data where it looked, directory in use).
    const callers = e instanceof ConfigError || e instanceof NoDataError || e instanceof DataDirLockedError || isIssuanceError(e);
    process.exit(callers ? 2 : 1);
  }
}
