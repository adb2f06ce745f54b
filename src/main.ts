import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCommands } from './cli/commands/index.ts';
import { CliError } from './cli/commands/shared.ts';
import { completionScript } from './cli/completion.ts';
import { EXIT_ERROR, EXIT_USAGE } from './cli/exit-codes.ts';
import { ConfigError } from './config.ts';
import { NoDataError } from './data-dir.ts';
import { DataDirLockedError } from './data-dir-lock.ts';
import { isIssuanceError } from './issuance/errors.ts';
import { packagePath } from './package-root.ts';
import type { ProtocolModule } from './protocol.ts';

/**
 * The `certgate` command. The protocol list is handed in by the entry point (bin/certgate.mjs),
 * so src/ never imports protocols/.
 */
export async function main(argv: string[], protocols: ProtocolModule[]): Promise<void> {
  const { version } = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  const program = new Command('certgate')
    .description('Certgate: one issuance pipeline behind ACME, EST, SCEP, CMP, emCA REST and OCSP')
    .version(version, '-V, --version', 'print the version')
    .showHelpAfterError()
    // A usage error (unknown command or option, missing argument) is the caller's: exit 2. Help and --version: 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE));
  registerCommands(program, protocols);
  program
    .command('completion')
    .description('print a shell completion script: eval "$(certgate completion bash)"')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new CommanderError(EXIT_USAGE, 'certgate.shell', `unknown shell "${shell}"; shells: bash, zsh`);
      process.stdout.write(completionScript(program, shell));
    });

  try {
    await program.parseAsync(argv);
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    console.error(`certgate: ${msg}`);
    // 2: the caller's mistake (bad setting, no data where it looked, directory in use).
    const callers = e instanceof CommanderError || e instanceof ConfigError || e instanceof NoDataError || e instanceof DataDirLockedError || isIssuanceError(e);
    process.exit(e instanceof CliError ? e.exitCode : callers ? EXIT_USAGE : EXIT_ERROR);
  }
}
