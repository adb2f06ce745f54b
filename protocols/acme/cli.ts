/** `certgate acme eab …`: external account binding keys through the admin API (`/api/v1/acme/eab`). */
import type { Command } from 'commander';
import type { AdminApiClient } from '../../src/cli/runner.ts';
import { adminRunner } from '../../src/cli/runner.ts';
import type { Config } from '../../src/config.ts';

interface EabKey {
  kid: string;
  note?: string | null;
  accountId?: string | null;
  disabled: boolean;
  createdAt: string;
}

export function registerAcmeCommands(program: Command, loadConfig: () => Config, openAdminClient: (config: Config) => Promise<AdminApiClient>): void {
  const run = adminRunner(() => openAdminClient(loadConfig()));
  const eab = program.command('acme').description('ACME server administration').command('eab').description('external account binding keys');
  eab
    .command('create')
    .description('create an EAB key (the HMAC key is shown once)')
    .option('--note <text>', 'what the key is for')
    .option('--json', 'print JSON')
    .action((o: { note?: string; json?: boolean }) =>
      run(async (call) => {
        const k = await call<{ kid: string; hmacKey: string; algorithm: string }>('POST', '/acme/eab', { note: o.note });
        if (o.json) return void process.stdout.write(JSON.stringify(k) + '\n');
        process.stdout.write(`kid ${k.kid}\nhmac ${k.hmacKey}\n`);
      }),
    );
  eab
    .command('list')
    .description('list EAB keys')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (call) => {
        const { keys } = await call<{ keys: EabKey[] }>('GET', '/acme/eab');
        if (o.json) return void process.stdout.write(JSON.stringify(keys) + '\n');
        for (const k of keys) {
          process.stdout.write(`${k.kid}  ${k.disabled ? 'disabled' : k.accountId ? `bound to account ${k.accountId}` : 'unused'}  ${k.note ?? ''}\n`);
        }
      }),
    );
  eab
    .command('disable <kid>')
    .description('disable an EAB key')
    .action((kid: string) => run(async (call) => void (await call('DELETE', `/acme/eab/${encodeURIComponent(kid)}`))));
}
