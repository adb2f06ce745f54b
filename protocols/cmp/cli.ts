/**
 * `certgate cmp secret add|list|disable|enable`: shared secrets for MAC-protected CMP, through the
 * admin API (`/api/v1/cmp/secrets`). The secret is printed once.
 */
import type { Command } from 'commander';
import { adminRunner } from '../../src/cli/runner.ts';
import type { AdminApiClient as AdminClient } from '../../src/cli/runner.ts';
import type { Config } from '../../src/config.ts';
import type { SecretView } from './secrets.ts';

export function registerCmpCommands(program: Command, loadConfig: () => Config, open: (config: Config) => Promise<AdminClient>): void {
  const run = adminRunner(() => open(loadConfig()));
  const secret = program.command('cmp').description('CMP (RFC 9810 / 9483)').command('secret').description('shared secrets for MAC protection (openssl cmp -ref/-secret)');

  secret
    .command('add')
    .description('create a reference and print its secret once')
    .requiredOption('--ref <ref>', 'the reference the client sends (senderKID, openssl cmp -ref)')
    .option('--alias <alias>', 'accept it only on /cmp/<alias>')
    .option('--json', 'print JSON')
    .action((o: { ref: string; alias?: string; json?: boolean }) =>
      run(async (call) => {
        const s = await call<{ ref: string; alias: string | null; secret: string }>('POST', '/cmp/secrets', { ref: o.ref, alias: o.alias });
        if (o.json) return void console.log(JSON.stringify(s));
        console.log(`reference ${s.ref}${s.alias ? ` (alias ${s.alias})` : ''}\n  secret ${s.secret}\n\nShown once. openssl cmp -ref ${s.ref} -secret pass:<secret>`);
      }),
    );

  secret
    .command('list')
    .description('list references (never the secrets)')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (call) => {
        const { secrets } = await call<{ secrets: SecretView[] }>('GET', '/cmp/secrets');
        if (o.json) return void console.log(JSON.stringify(secrets));
        if (secrets.length === 0) return void console.log('no CMP references');
        for (const s of secrets) console.log(`${s.ref}\t${s.disabled ? 'disabled' : 'enabled'}\t${s.alias ?? '*'}\t${s.createdAt}`);
      }),
    );

  for (const verb of ['disable', 'enable'] as const) {
    secret
      .command(verb)
      .description(verb === 'disable' ? 'refuse this reference' : 'accept this reference again')
      .requiredOption('--ref <ref>', 'the reference')
      .action((o: { ref: string }) => run(async (call) => void (await call('POST', `/cmp/secrets/${encodeURIComponent(o.ref)}/${verb}`), console.log(`${verb}d ${o.ref}`))));
  }
}
