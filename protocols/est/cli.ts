/**
 * `certgate est …`: labels and HTTP Basic credentials, through the admin API (`/api/v1/est/…`).
 *
 *   certgate est label add NAME --profile P [--issuer ID] [--auth cert|basic|both] [--channel-binding]
 *   certgate est label list
 *   certgate est user add --label LABEL --name NAME      prints the password once
 *   certgate est user list [--label LABEL]
 *   certgate est user disable --label LABEL --name NAME
 */
import type { Command } from 'commander';
import type { AdminApiClient as AdminClient } from '../../src/cli/runner.ts';
import { adminRunner } from '../../src/cli/runner.ts';
import type { Config } from '../../src/config.ts';

interface LabelView {
  name: string;
  profile: string;
  issuerId?: string;
  auth: string;
  channelBinding: boolean;
}
interface UserView {
  label: string;
  name: string;
  disabled: boolean;
  createdAt: string;
}

export function registerEstCommands(program: Command, loadConfig: () => Config, open: (config: Config) => Promise<Pick<AdminClient, 'call' | 'close'>>): void {
  const run = adminRunner(() => open(loadConfig()));
  const est = program.command('est').description('EST server (RFC 7030): labels and client credentials');

  const label = est.command('label').description('labels: /.well-known/est/<label>/ → profile, issuer, authentication');
  label
    .command('add <name>')
    .requiredOption('--profile <profile>', 'profile the label issues from')
    .option('--issuer <id>', 'issuer that signs (default: the profile\'s)')
    .option('--auth <kind>', 'cert | basic | both', 'both')
    .option('--channel-binding', 'require the TLS channel binding in the CSR challengePassword (RFC 7030 §3.5)')
    .option('--json', 'print JSON')
    .action((name: string, o: { profile: string; issuer?: string; auth: string; channelBinding?: boolean; json?: boolean }) =>
      run(async (call) => {
        const l = await call<LabelView>('POST', '/est/labels', { name, profile: o.profile, issuerId: o.issuer, auth: o.auth, channelBinding: o.channelBinding === true });
        console.log(o.json ? JSON.stringify(l) : `EST label ${l.name}: profile ${l.profile}, auth ${l.auth}${l.channelBinding ? ', channel binding required' : ''}`);
      }),
    );
  label
    .command('list')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (call) => {
        const ls = await call<LabelView[]>('GET', '/est/labels');
        if (o.json) return void console.log(JSON.stringify(ls));
        for (const l of ls) console.log(`${l.name}\tprofile=${l.profile}\tauth=${l.auth}\tchannel-binding=${l.channelBinding ? 'yes' : 'no'}${l.issuerId ? `\tissuer=${l.issuerId}` : ''}`);
      }),
    );

  const user = est.command('user').description('HTTP Basic credentials of a label');
  user
    .command('add')
    .requiredOption('--label <label>', 'label the credential is valid for')
    .requiredOption('--name <name>', 'user name')
    .option('--json', 'print JSON')
    .action((o: { label: string; name: string; json?: boolean }) =>
      run(async (call) => {
        const r = await call<{ user: UserView; password: string }>('POST', '/est/users', { label: o.label, name: o.name });
        if (o.json) return void console.log(JSON.stringify({ label: r.user.label, name: r.user.name, password: r.password }));
        console.log(`EST user ${r.user.name} for label ${r.user.label}`);
        console.log(`  password  ${r.password}   (shown once; only its hash is stored)`);
      }),
    );
  user
    .command('list')
    .option('--label <label>', 'only this label')
    .option('--json', 'print JSON')
    .action((o: { label?: string; json?: boolean }) =>
      run(async (call) => {
        const us = await call<UserView[]>('GET', `/est/users${o.label ? `?label=${encodeURIComponent(o.label)}` : ''}`);
        if (o.json) return void console.log(JSON.stringify(us));
        for (const u of us) console.log(`${u.label}\t${u.name}\t${u.disabled ? 'disabled' : 'enabled'}\t${u.createdAt}`);
      }),
    );
  user
    .command('disable')
    .requiredOption('--label <label>', 'label')
    .requiredOption('--name <name>', 'user name')
    .action((o: { label: string; name: string }) =>
      run(async (call) => {
        await call('POST', `/est/users/${encodeURIComponent(o.label)}/${encodeURIComponent(o.name)}/disable`);
        console.log(`EST user ${o.name} of label ${o.label} disabled`);
      }),
    );
}
