/** `certgate hsm`: the PKCS#11 token — slots, tokens and keys (list), one signature per issuer key (test). */
import type { Command } from 'commander';
import { EXIT_CLIENT, EXIT_ERROR, CliError, group, printJson, table, type Run } from './shared.ts';

export function registerHsmCommands(program: Command, run: Run): void {
  const hsm = group(program, 'hsm').description('the HSM (PKCS#11 token) holding CA keys');

  hsm
    .command('list')
    .description('slots, tokens, and the keys on the token with the issuers that use them')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (api) => {
        const h = await api.get<{ configured: boolean; message?: string; module: string; token: string | null; available: boolean; reason?: string; slots: any[]; keys: any[] }>('/hsm');
        if (!h.configured) throw new CliError(h.message!, EXIT_CLIENT);
        if (o.json) return printJson(h);
        console.log(`module: ${h.module}`);
        console.log(`token:  ${h.token ?? '-'} (${h.available ? 'available' : `unavailable: ${h.reason}`})`);
        console.log('');
        table(h.slots, [
          ['SLOT', (s) => s.slot],
          ['DESCRIPTION', (s) => s.description],
          ['TOKEN', (s) => s.token?.label ?? '-'],
          ['MODEL', (s) => s.token?.model ?? ''],
          ['SERIAL', (s) => s.token?.serial ?? ''],
        ]);
        console.log('');
        table(h.keys, [
          ['KEY', (k) => k.label],
          ['TYPE', (k) => k.keyType],
          ['SENSITIVE', (k) => (k.sensitive ? 'yes' : 'NO')],
          ['EXTRACTABLE', (k) => (k.extractable ? 'YES' : 'no')],
          ['ISSUERS', (k) => k.issuers.join(',') || '-'],
          ['URI', (k) => k.keyRef],
        ]);
      }),
    );

  hsm
    .command('test')
    .description('sign and verify once with every HSM key an issuer uses')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (api) => {
        const r = await api.post<{ configured: boolean; message?: string; ok: boolean; results: any[] }>('/hsm/test');
        if (!r.configured) throw new CliError(r.message!, EXIT_CLIENT);
        if (o.json) printJson(r);
        else
          table(r.results, [
            ['ISSUER', (x) => x.issuerId],
            ['KEY', (x) => x.keyAlgorithm],
            ['RESULT', (x) => (x.ok ? 'ok' : `FAILED: ${x.error}`)],
            ['MS', (x) => String(x.ms)],
          ]);
        if (!r.ok) throw new CliError('a key failed its sign-and-verify test', EXIT_ERROR);
      }),
    );
}
