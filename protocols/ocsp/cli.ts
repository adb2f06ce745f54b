/**
 * `certgate ocsp …`: OCSP management through the admin API (`/api/v1/ocsp/...`). Wired into
 * src/main.ts by the composition root, like the emCA commands:
 *
 *   registerOcspCommands(program, () => loadConfig(), (config) => openAdminClient(config, protocols));
 *
 * Exit codes follow the other commands: 0 ok, 1 server/unexpected error, 2 refused or invalid input.
 */
import type { Command } from 'commander';
import { adminRunner, CliFailure } from '../../src/cli/runner.ts';
import type { Config } from '../../src/config.ts';

export interface OcspAdminClient {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}


interface Responder {
  id: string;
  issuerId: string;
  serial: string;
  keyAlgorithm: string;
  notAfter: string;
  status: string;
  certificatePem: string;
}

const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliFailure(`"${v}" is not a number`, 2);
  return n;
};

type Run = ReturnType<typeof adminRunner>;
const enc = encodeURIComponent;

export function registerOcspCommands(program: Command, loadConfig: () => Config, openAdminClient: (config: Config) => Promise<OcspAdminClient>): void {
  const run = adminRunner(() => openAdminClient(loadConfig()));
  const ocsp = program.command('ocsp').description('OCSP responder: settings and delegated responder certificates');
  listCommand(ocsp, run);
  settingsCommand(ocsp, run);
  responderCommands(ocsp, run);
}

function listCommand(ocsp: Command, run: Run): void {
  ocsp
    .command('list')
    .description('every issuer: who signs its OCSP responses, the active responder, settings')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (call) => {
        const r = await call<{ issuers: { issuerId: string; signedBy: string; activeResponder: Responder | null; settings: Record<string, unknown>; cachedResponses: number }[] }>('GET', '/ocsp/issuers');
        if (o.json) return console.log(JSON.stringify(r, null, 2));
        for (const i of r.issuers) {
          const a = i.activeResponder;
          console.log(
            `${i.issuerId.padEnd(24)} signed by ${i.signedBy.padEnd(9)} ${a ? `responder ${a.serial} (${a.keyAlgorithm}, until ${a.notAfter})` : 'no responder'}  validity ${i.settings.validitySeconds}s  max-age ${i.settings.maxAgeSeconds}s  nonce ${i.settings.nonce}  cached ${i.cachedResponses}`,
          );
        }
      }),
    );
}

function settingsCommand(ocsp: Command, run: Run): void {
  ocsp
    .command('settings')
    .description('show or change an issuer\'s OCSP settings (options given are changed, the rest kept)')
    .requiredOption('--issuer <id>', 'issuer')
    .option('--signing <who>', 'delegated | issuer')
    .option('--validity <seconds>', 'response validity (thisUpdate to nextUpdate)', num)
    .option('--max-age <seconds>', 'cap of Cache-Control max-age on GET', num)
    .option('--refresh-fraction <f>', 're-sign when less than this fraction of validity remains', num)
    .option('--nonce <policy>', 'sign | ignore')
    .option('--responder-days <days>', 'lifetime of new responder certificates', num)
    .option('--rotate-fraction <f>', 'rotate when less than this fraction of the responder\'s life remains', num)
    .option('--responder-key <kind>', 'issuer | ec-p256 | ec-p384 | rsa-2048 | rsa-3072')
    .action((o: { issuer: string; signing?: string; validity?: number; maxAge?: number; refreshFraction?: number; nonce?: string; responderDays?: number; rotateFraction?: number; responderKey?: string }) =>
      run(async (call) => {
        const patch: Record<string, unknown> = {
          signing: o.signing,
          validitySeconds: o.validity,
          maxAgeSeconds: o.maxAge,
          refreshFraction: o.refreshFraction,
          nonce: o.nonce,
          responderValidityDays: o.responderDays,
          rotateFraction: o.rotateFraction,
          responderKey: o.responderKey,
        };
        for (const k of Object.keys(patch)) if (patch[k] === undefined) delete patch[k];
        const r = Object.keys(patch).length
          ? await call<{ settings: unknown }>('PUT', `/ocsp/issuers/${enc(o.issuer)}/settings`, patch)
          : await call<{ settings: unknown }>('GET', `/ocsp/issuers/${enc(o.issuer)}`);
        console.log(JSON.stringify(r.settings, null, 2));
      }),
    );
}

function responderCommands(ocsp: Command, run: Run): void {
  const responder = ocsp.command('responder').description('delegated responder certificates (id-kp-OCSPSigning)');
  responder
    .command('create')
    .description('issue a responder certificate for an issuer; it replaces the active one (rotation)')
    .requiredOption('--issuer <id>', 'issuer')
    .option('--validity-days <days>', 'lifetime (default: the issuer setting)', num)
    .option('--pem', 'print the certificate only')
    .action((o: { issuer: string; validityDays?: number; pem?: boolean }) =>
      run(async (call) => {
        const r = await call<Responder>('POST', `/ocsp/issuers/${enc(o.issuer)}/responders`, { validityDays: o.validityDays });
        if (o.pem) return void process.stdout.write(r.certificatePem);
        console.log(`responder ${r.id} for ${r.issuerId}: serial ${r.serial}, ${r.keyAlgorithm}, valid until ${r.notAfter}`);
      }),
    );
  responder
    .command('list')
    .description('responder certificates of an issuer')
    .requiredOption('--issuer <id>', 'issuer')
    .option('--json', 'print JSON')
    .action((o: { issuer: string; json?: boolean }) =>
      run(async (call) => {
        const r = await call<{ responders: Responder[] }>('GET', `/ocsp/issuers/${enc(o.issuer)}/responders`);
        if (o.json) return console.log(JSON.stringify(r.responders, null, 2));
        for (const x of r.responders) console.log(`${x.id}  ${x.status.padEnd(8)} ${x.serial}  ${x.keyAlgorithm}  until ${x.notAfter}`);
      }),
    );
  responder
    .command('revoke')
    .description('revoke a responder certificate (a replacement is issued when it was the active one)')
    .requiredOption('--id <id>', 'responder id')
    .option('--reason <name>', 'keyCompromise, superseded (default), cessationOfOperation, … or a code')
    .option('--no-replace', 'do not issue a replacement (the issuer signs until one is created)')
    .action((o: { id: string; reason?: string; replace: boolean }) =>
      run(async (call) => {
        const r = await call<{ revoked: Responder; replacement?: Responder }>('POST', `/ocsp/responders/${enc(o.id)}/revoke`, { reason: o.reason, replace: o.replace });
        console.log(`revoked responder ${r.revoked.id} (serial ${r.revoked.serial})${r.replacement ? `; replaced by ${r.replacement.id} (serial ${r.replacement.serial})` : ''}`);
      }),
    );
}
