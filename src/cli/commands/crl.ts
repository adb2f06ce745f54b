/** `certgate` CRLs: generate, show. */
import { type Command } from 'commander';
import { enc, group, printJson, table, time, type Run } from './shared.ts';

export function registerCrlCommands(program: Command, run: Run): void {
  const crl = group(program, 'crl').description('certificate revocation lists');

  crl
    .command('generate')
    .description('build and publish a new CRL now (every issuer when --issuer is omitted)')
    .option('--issuer <id>', 'issuer')
    .option('--json', 'print JSON')
    .action((o: { issuer?: string; json?: boolean }) =>
      run(async (api) => {
        const ids = o.issuer ? [o.issuer] : (await api.get<any[]>('/issuers')).map((i) => i.id as string);
        const out = [];
        for (const id of ids) out.push(await api.post(`/crl/${enc(id)}/generate`));
        if (o.json) return printJson(o.issuer ? out[0] : out);
        table(out, [
          ['ISSUER', (x) => x.issuerId],
          ['NUMBER', (x) => x.number],
          ['ENTRIES', (x) => x.entries],
          ['NEXT UPDATE', (x) => time(x.nextUpdate)],
          ['URL', (x) => x.url],
        ]);
      }),
    );

  crl
    .command('show')
    .description('the current CRL of an issuer')
    .requiredOption('--issuer <id>', 'issuer')
    .action((o: { issuer: string }) => run(async (api) => printJson(await api.get(`/crl/${enc(o.issuer)}`))));
}
