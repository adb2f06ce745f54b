/**
 * `certgate emca-key-recovery …` and `certgate emca-esign …`: the officer side of key recovery and
 * of the eSign operator code channel, through the admin API. A recovery needs two operators: the
 * one who approves must not be the one who asked (the CLI's local credential counts as one).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { adminRunner, CliFailure } from '../../src/cli/runner.ts';
import type { Config } from '../../src/config.ts';
import type { EmcaAdminClient } from './cli.ts';

interface RecoveryView {
  id: string;
  serialNumber: string;
  issuerId: string;
  reason: string;
  status: string;
  requestedBy: string;
  decidedBy: string | null;
  createdAt: string;
  pkcs12?: string;
}

export function registerEmcaRecoveryCommands(program: Command, loadConfig: () => Config, openAdminClient: (config: Config) => Promise<EmcaAdminClient>): void {
  const run = adminRunner(() => openAdminClient(loadConfig()));
  const kr = program.command('emca-key-recovery').description('recover the PKCS#12 of a server-generated emCA key (two operators)');

  kr.command('request')
    .description('ask for the re-issue of a kept PKCS#12 under a new (or its old) password')
    .requiredOption('--serial <hex>', 'serial number of the certificate')
    .requiredOption('--reason <text>', 'why (audited)')
    .option('--issuer <id>', 'issuer id, when several issuers used the serial')
    .option('--new-password-file <file>', 'file holding the new PKCS#12 password (first line); absent = keep the old password')
    .option('--json', 'print JSON')
    .action((o: { serial: string; reason: string; issuer?: string; newPasswordFile?: string; json?: boolean }) =>
      run(async (call) => {
        let newPassword: string | undefined;
        if (o.newPasswordFile) {
          try {
            newPassword = readFileSync(o.newPasswordFile, 'utf8').split(/\r?\n/)[0];
          } catch (e) {
            throw new CliFailure(`cannot read ${o.newPasswordFile}: ${(e as Error).message}`, 2);
          }
        }
        const r = await call<RecoveryView>('POST', '/emca/key-recoveries', { serialNumber: o.serial, reason: o.reason, issuerId: o.issuer, newPassword });
        console.log(o.json ? JSON.stringify(r) : `key recovery ${r.id} requested (serial ${r.serialNumber}); another operator approves it with: certgate emca-key-recovery approve ${r.id} --out FILE`);
      }),
    );

  kr.command('list')
    .description('key recoveries, newest first')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (call) => {
        const { recoveries } = await call<{ recoveries: RecoveryView[] }>('GET', '/emca/key-recoveries');
        if (o.json) return void console.log(JSON.stringify(recoveries));
        if (recoveries.length === 0) return void console.log('no key recoveries');
        for (const r of recoveries) console.log([r.id, r.status.padEnd(8), r.serialNumber, r.requestedBy, r.decidedBy ?? '-'].join('  '));
      }),
    );

  kr.command('approve <id>')
    .description('approve (not the requester): writes the recovered PKCS#12 to --out (0600)')
    .requiredOption('--out <file>', 'where to write the PKCS#12')
    .action((id: string, o: { out: string }) =>
      run(async (call) => {
        const r = await call<RecoveryView>('POST', `/emca/key-recoveries/${encodeURIComponent(id)}/approve`, {});
        writeFileSync(o.out, Buffer.from(r.pkcs12 ?? '', 'base64'), { mode: 0o600 });
        console.log(`key recovery ${id} approved; PKCS#12 written to ${o.out}`);
      }),
    );

  kr.command('reject <id>')
    .description('reject a pending key recovery')
    .action((id: string) => run(async (call) => void (await call('POST', `/emca/key-recoveries/${encodeURIComponent(id)}/reject`, {}), console.log(`key recovery ${id} rejected`))));

  const es = program.command('emca-esign').description('emCA eSign: pending signing requests and their one-time codes (operator channel)');
  es.command('requests')
    .description('pending signing requests')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (call) => {
        const { requests } = await call<{ requests: { requestId: string; clientId: string; kind: string; expiresAt: string; codeAvailable: boolean }[] }>('GET', '/emca/esign/requests');
        if (o.json) return void console.log(JSON.stringify(requests));
        if (requests.length === 0) return void console.log('no pending signing requests');
        for (const r of requests) console.log([r.requestId, r.kind.padEnd(4), r.clientId, r.expiresAt, r.codeAvailable ? 'code unread' : 'code read'].join('  '));
      }),
    );
  es.command('code <requestId>')
    .description("print a request's one-time code, once, to pass on to the signer")
    .action((id: string) =>
      run(async (call) => {
        const r = await call<{ code: string; signerId: string; expiresAt: string }>('POST', `/emca/esign/requests/${encodeURIComponent(id)}/code`, {});
        console.log(`${r.code}  (signer ${r.signerId}, valid until ${r.expiresAt})`);
      }),
    );
}
