/** `certgate` admin API access: bearer tokens, operators, the audit trail. */
import { type Command, Option } from 'commander';
import { enc, group, int, printJson, roleNames, table, time, type Run } from './shared.ts';

export function registerAccessCommands(program: Command, run: Run): void {
  const token = group(program, 'token').description('admin API bearer tokens');

  token
    .command('create')
    .description('create a bearer token; prints the token alone')
    .addOption(new Option('--role <role>', 'role').choices(roleNames).makeOptionMandatory())
    .option('--name <name>', 'operator the token names (created when missing)')
    .option('--ttl <seconds>', 'lifetime in seconds', int)
    .action((o: { role: string; name?: string; ttl?: number }) =>
      run(async (api) => {
        const r = await api.post('/tokens', { role: o.role, name: o.name, ttlSeconds: o.ttl });
        process.stdout.write(r.token + '\n');
      }),
    );

  const operator = group(program, 'operator').description('operators and API clients of the admin API');

  operator
    .command('list')
    .description('list operators')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (api) => {
        const list = await api.get<any[]>('/operators');
        if (o.json) return printJson(list);
        table(list, [
          ['NAME', (x) => x.name],
          ['ROLE', (x) => x.role],
          ['KIND', (x) => x.kind],
          ['DISABLED', (x) => (x.disabled ? 'yes' : '')],
          ['CREATED', (x) => time(x.createdAt)],
        ]);
      }),
    );

  operator
    .command('add')
    .description('add an operator')
    .argument('<name>')
    .addOption(new Option('--role <role>', 'role').choices(roleNames).makeOptionMandatory())
    .option('--api-client', 'an API client rather than a person')
    .action((name: string, o: { role: string; apiClient?: boolean }) =>
      run(async (api) => {
        const r = await api.post('/operators', { name, role: o.role, kind: o.apiClient ? 'api-client' : 'operator' });
        console.log(`added ${r.kind} ${r.name} (${r.role})`);
      }),
    );

  operator
    .command('disable')
    .description('disable an operator: its tokens stop working at once')
    .argument('<name>')
    .action((name: string) =>
      run(async (api) => {
        await api.post(`/operators/${enc(name)}/disable`);
        console.log(`disabled ${name}`);
      }),
    );

  group(program, 'audit')
    .description('search the audit trail (newest first)')
    .option('--action <action>', 'e.g. certificate.revoke')
    .option('--actor <actor>', 'e.g. operator:alice')
    .option('--target <target>', 'e.g. dev-issuing:0a1b…')
    .option('--since <date>', 'RFC 3339')
    .option('--until <date>', 'RFC 3339')
    .option('--limit <n>', 'at most this many', int, 50)
    .option('--json', 'print JSON')
    .action((o: Record<string, any>) =>
      run(async (api) => {
        const list = await api.get<any[]>('/audit', { action: o.action, actor: o.actor, target: o.target, since: o.since, until: o.until, limit: o.limit });
        if (o.json) return printJson(list);
        table(list, [
          ['AT', (x) => time(x.at)],
          ['ACTOR', (x) => x.actor],
          ['ACTION', (x) => x.action],
          ['TARGET', (x) => x.target ?? ''],
          ['OUTCOME', (x) => x.outcome],
        ]);
      }),
    );
}
