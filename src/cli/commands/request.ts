/** `certgate` certificate requests held for manual approval: list, show, approve, reject. */
import { type Command, Option } from 'commander';
import { enc, group, printJson, requestStatuses, table, time, type Run } from './shared.ts';

export function registerRequestCommands(program: Command, run: Run): void {
  const request = group(program, 'request').description('certificate requests held for manual approval');

  request
    .command('list')
    .description('list requests')
    .addOption(new Option('--status <status>', 'status').choices(requestStatuses))
    .option('--json', 'print JSON')
    .action((o: { status?: string; json?: boolean }) =>
      run(async (api) => {
        const list = await api.get<any[]>('/requests', { status: o.status });
        if (o.json) return printJson(list);
        table(list, [
          ['ID', (r) => r.id],
          ['STATUS', (r) => r.status],
          ['PROFILE', (r) => r.profile],
          ['SUBJECT', (r) => r.subject],
          ['REQUESTED BY', (r) => r.principal],
          ['CREATED', (r) => time(r.createdAt)],
        ]);
      }),
    );

  request
    .command('show')
    .description('show one request')
    .argument('<id>')
    .action((id: string) =>
      run(async (api) => {
        const r = await api.get(`/requests/${enc(id)}`);
        if (r.certificate) delete r.certificate.pem;
        printJson(r);
      }),
    );

  request
    .command('approve')
    .description('approve a request: the certificate is issued')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action((id: string, o: { json?: boolean }) =>
      run(async (api) => {
        const r = await api.post(`/requests/${enc(id)}/approve`);
        if (o.json) return printJson(r);
        console.log(`approved ${id}: issued ${r.certificate.issuerId}:${r.certificate.serial} (${r.certificate.subject})`);
      }),
    );

  request
    .command('reject')
    .description('reject a request')
    .argument('<id>')
    .option('--reason <text>', 'why (shown to the requester)')
    .action((id: string, o: { reason?: string }) =>
      run(async (api) => {
        const r = await api.post(`/requests/${enc(id)}/reject`, { reason: o.reason });
        console.log(`rejected ${id}: ${r.reason}`);
      }),
    );
}
