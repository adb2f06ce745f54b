/**
 * `certgate emca-client …`: registration of emCA external applications through the admin API
 * (`/api/v1/emca/clients`). Wired into src/main.ts by the composition root:
 *
 *   registerEmcaCommands(program, () => loadConfig(), (config) => openAdminClient(config, protocols));
 *
 * Exit codes follow the other commands: 0 ok, 1 server/unexpected error, 2 refused or invalid input.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { adminRunner, CliFailure } from '../../src/cli/runner.ts';
import type { Config } from '../../src/config.ts';

export interface EmcaAdminClient {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}


interface Secrets {
  id: string;
  userName: string;
  password: string;
  emKey: string;
  aesKey: string;
  aesMode: string;
  pfx: string;
  pfxPassword: string;
  signingSerial: string;
  signingIssuerId: string;
}

interface ClientView {
  id: string;
  userName: string;
  aesMode: string;
  allowedIps: string[];
  allowedProfiles: string[];
  signingSerial: string | null;
  legacyPfx: boolean;
  disabled: boolean;
  createdAt: string;
}

const collect = (v: string, prev: string[]) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export function registerEmcaCommands(
  program: Command,
  loadConfig: () => Config,
  openAdminClient: (config: Config) => Promise<EmcaAdminClient>,
): void {
  const run = adminRunner(() => openAdminClient(loadConfig()));

  const printSecrets = (s: Secrets, o: { json?: boolean; pfxOut?: string }) => {
    if (o.pfxOut) writeFileSync(o.pfxOut, Buffer.from(s.pfx, 'base64'), { mode: 0o600 });
    if (o.json) {
      console.log(
        JSON.stringify({
          id: s.id,
          userName: s.userName,
          password: s.password,
          emKey: s.emKey,
          aesKey: s.aesKey,
          aesMode: s.aesMode,
          pfx: s.pfx,
          pfxPassword: s.pfxPassword,
          signingSerial: s.signingSerial,
          signingIssuerId: s.signingIssuerId,
        }),
      );
      return;
    }
    const lines = [
      `emCA client ${s.userName} (${s.id})`,
      `  userName     ${s.userName}`,
      `  password     ${s.password}`,
      `  emKey        ${s.emKey}`,
      `  aesKey       ${s.aesKey}   (base64 of 32 bytes, AES-256-${s.aesMode})`,
      `  pfxPassword  ${s.pfxPassword}`,
      `  signing cert ${s.signingIssuerId}:${s.signingSerial}`,
      o.pfxOut ? `  pfx          written to ${o.pfxOut}` : `  pfx (base64) ${s.pfx}`,
      '',
      'These secrets are shown once: Certgate keeps only hashes and sealed copies.',
    ];
    console.log(lines.join('\n'));
  };

  const cmd = program.command('emca-client').description('emCA external applications (Open API V4 / V5 clients)');

  cmd
    .command('add')
    .description('register an application: prints the password, emKey, AES key and signing PKCS#12 once')
    .requiredOption('--name <name>', 'the userName the application sends')
    .option('--ip <cidr>', 'allowed source IP or CIDR (repeatable, or comma-separated)', collect, [])
    .option('--profile <name>', 'allowed profile (repeatable; none = every profile)', collect, [])
    .option('--aes-mode <mode>', 'requestData encryption: ECB (emCA default), CBC or GCM (IV in front)', 'ECB')
    .option('--legacy-pfx', 'build PKCS#12 files with 3DES/SHA-1 for old clients')
    .option('--em-key <hex>', 'keep the emKey eMudhra GenerateAuthenticationKey.jar printed for this application')
    .option('--signing-validity <D:H:M:S>', 'validity of the signing certificate (default: the emca-client-signing profile)')
    .option('--signing-key <kind>', 'EC-P256 (default) or RSA-2048')
    .option('--role <role>', 'V5 management role: client (default), auditor, officer, administrator')
    .option('--pfx-out <file>', 'also write the signing PKCS#12 to this file (0600)')
    .option('--json', 'print one JSON object (userName, password, emKey, aesKey, pfx, pfxPassword, …)')
    .action((o: { name: string; ip: string[]; profile: string[]; aesMode: string; legacyPfx?: boolean; emKey?: string; signingValidity?: string; signingKey?: string; role?: string; pfxOut?: string; json?: boolean }) =>
      run(async (call) => {
        if (o.ip.length === 0) throw new CliFailure('at least one --ip is needed', 2);
        const s = await call<Secrets>('POST', '/emca/clients', {
          name: o.name,
          ips: o.ip,
          profiles: o.profile,
          aesMode: o.aesMode,
          legacyPfx: !!o.legacyPfx,
          emKey: o.emKey,
          signingValidity: o.signingValidity,
          signingKey: o.signingKey,
          role: o.role,
        });
        printSecrets(s, o);
      }),
    );

  cmd
    .command('list')
    .description('list registered applications')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (call) => {
        const { clients } = await call<{ clients: ClientView[] }>('GET', '/emca/clients');
        if (o.json) return void console.log(JSON.stringify(clients));
        if (clients.length === 0) return void console.log('no emCA clients');
        const rows = clients.map((c) => [c.userName, c.disabled ? 'disabled' : 'enabled', c.aesMode, c.allowedIps.join(','), c.allowedProfiles.join(',') || '*', c.signingSerial ?? '-']);
        const head = ['USERNAME', 'STATE', 'AES', 'IPS', 'PROFILES', 'SIGNING SERIAL'];
        const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        for (const r of [head, ...rows]) console.log(r.map((v, i) => v.padEnd(w[i])).join('  ').trimEnd());
      }),
    );

  cmd
    .command('show <ref>')
    .description('one application (id or userName)')
    .action((ref: string) => run(async (call) => void console.log(JSON.stringify(await call('GET', `/emca/clients/${encodeURIComponent(ref)}`), null, 2))));

  cmd
    .command('update <ref>')
    .description('change allowed IPs, profiles, AES mode or PKCS#12 encryption')
    .option('--ip <cidr>', 'replace the allowed IPs (repeatable)', collect, [])
    .option('--profile <name>', 'replace the allowed profiles (repeatable)', collect, [])
    .option('--any-profile', 'allow every profile')
    .option('--aes-mode <mode>', 'ECB, CBC or GCM')
    .option('--legacy-pfx', 'build PKCS#12 files with 3DES/SHA-1')
    .option('--modern-pfx', 'build PKCS#12 files with AES-256-CBC/PBKDF2 (default)')
    .option('--role <role>', 'V5 management role: client, auditor, officer, administrator')
    .action((ref: string, o: { ip: string[]; profile: string[]; anyProfile?: boolean; aesMode?: string; legacyPfx?: boolean; modernPfx?: boolean; role?: string }) =>
      run(async (call) => {
        const body: Record<string, unknown> = {};
        if (o.ip.length) body.ips = o.ip;
        if (o.profile.length) body.profiles = o.profile;
        if (o.anyProfile) body.profiles = [];
        if (o.aesMode) body.aesMode = o.aesMode;
        if (o.legacyPfx) body.legacyPfx = true;
        if (o.modernPfx) body.legacyPfx = false;
        if (o.role) body.role = o.role;
        console.log(JSON.stringify(await call('PATCH', `/emca/clients/${encodeURIComponent(ref)}`, body), null, 2));
      }),
    );

  cmd
    .command('disable <ref>')
    .description('refuse every call of this application')
    .action((ref: string) => run(async (call) => void (await call('POST', `/emca/clients/${encodeURIComponent(ref)}/disable`), console.log(`disabled ${ref}`))));

  cmd
    .command('enable <ref>')
    .description('accept calls again')
    .action((ref: string) => run(async (call) => void (await call('POST', `/emca/clients/${encodeURIComponent(ref)}/enable`), console.log(`enabled ${ref}`))));

  cmd
    .command('rotate <ref>')
    .description('new password, emKey, AES key and signing PKCS#12 (the old signing certificate is revoked); printed once')
    .option('--em-key <hex>', 'use this emKey instead of deriving one')
    .option('--pfx-out <file>', 'also write the signing PKCS#12 to this file (0600)')
    .option('--json', 'print one JSON object')
    .action((ref: string, o: { emKey?: string; pfxOut?: string; json?: boolean }) =>
      run(async (call) => {
        const s = await call<Secrets>('POST', `/emca/clients/${encodeURIComponent(ref)}/rotate`, { emKey: o.emKey });
        printSecrets(s, o);
      }),
    );
}
