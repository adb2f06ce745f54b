/** `certgate` certificate profiles: list, show, add, update, delete. */
import { type Command } from 'commander';
import { enc, fail, group, printJson, readJsonFile, table, type Run } from './shared.ts';

export function registerProfileCommands(program: Command, run: Run): void {
  const profile = group(program, 'profile').description('certificate profiles');

  profile
    .command('list')
    .description('list profiles')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (api) => {
        const list = await api.get<any[]>('/profiles');
        if (o.json) return printJson(list);
        table(list, [
          ['NAME', (p) => p.name],
          ['ENABLED', (p) => (p.enabled ? 'yes' : 'no')],
          ['APPROVAL', (p) => (p.manualApproval ? 'manual' : 'auto')],
          ['ISSUER', (p) => p.issuer ?? '(default)'],
          ['BUILTIN', (p) => (p.builtin ? 'yes' : '')],
          ['DESCRIPTION', (p) => p.description],
        ]);
      }),
    );

  profile
    .command('show')
    .description('print a profile as JSON')
    .argument('<name>')
    .action((name: string) => run(async (api) => printJson(await api.get(`/profiles/${enc(name)}`))));

  profile
    .command('add')
    .description('add a profile from a JSON file')
    .requiredOption('--file <file>', 'profile definition (JSON)')
    .action((o: { file: string }) => {
      let def: unknown;
      try {
        def = readJsonFile(o.file);
      } catch (e) {
        return fail(e);
      }
      return run(async (api) => {
        const p = await api.post('/profiles', def);
        console.log(`added profile ${p.name}`);
      });
    });

  profile
    .command('update')
    .description('replace a profile with the definition in a JSON file')
    .argument('<name>')
    .requiredOption('--file <file>', 'profile definition (JSON)')
    .action((name: string, o: { file: string }) => {
      let def: unknown;
      try {
        def = readJsonFile(o.file);
      } catch (e) {
        return fail(e);
      }
      return run(async (api) => {
        await api.put(`/profiles/${enc(name)}`, def);
        console.log(`updated profile ${name}`);
      });
    });

  profile
    .command('delete')
    .description('delete a profile')
    .argument('<name>')
    .action((name: string) =>
      run(async (api) => {
        await api.del(`/profiles/${enc(name)}`);
        console.log(`deleted profile ${name}`);
      }),
    );
}
