/**
 * `certgate cvc …`: the ePassport PKI through the admin API.
 *   cvc cvca create --chr DECVCA00001 --curve brainpoolP256r1 [--type is] [--days 1095]
 *   cvc cvca rollover --holder DECVCA [--curve …] [--days 1095]
 *   cvc dv create --chr DEDVIS00001 --cvca DECVCA [--role dv_domestic] [--rights hex] [--days 90]
 *   cvc dv register --holder FRDVIS --cvca DECVCA --role dv_foreign --profile dv-is [--allow-initial]
 *   cvc terminal register --holder DEISTERM --dv DEDVIS --profile is-terminal [--allow-initial]
 *   cvc profile put NAME --role terminal --type is --chat 03 --max-days 30
 *   cvc import FILE             (foreign CVCA / link / DV certificate)
 *   cvc request FILE [--out F]  (process a request received out of band)
 *   cvc list [--chr CHR]        cvc export CHR --out FILE
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AdminApiClient as AdminClient } from '../../src/cli/runner.ts';
import { adminRunner } from '../../src/cli/runner.ts';
import type { Config } from '../../src/config.ts';

interface CertOut { chr: string; car: string; role: string; effective: string; expiration: string; certificate: string }

const print = (json: boolean | undefined, r: CertOut) =>
  process.stdout.write(json ? JSON.stringify(r) + '\n' : `${r.chr} (${r.role}) signed by ${r.car}, ${r.effective} to ${r.expiration}\n`);

const save = (out: string | undefined, r: CertOut) => {
  if (out) writeFileSync(out, Buffer.from(r.certificate, 'base64'));
};

type Run = ReturnType<typeof adminRunner>;

export function registerCvcCommands(program: Command, loadConfig: () => Config, openAdminClient: (config: Config) => Promise<AdminClient>): void {
  const run = adminRunner(() => openAdminClient(loadConfig()));
  const cvc = program.command('cvc').description('ePassport card-verifiable certificates (TR-03110): CVCA, DVs, terminals');
  registerAuthorities(cvc, run);
  registerHolders(cvc, run);
  registerCertificates(cvc, run);
}

function registerAuthorities(cvc: Command, run: Run): void {
  const cvca = cvc.command('cvca').description('the country verifying CA');
  cvca
    .command('create')
    .requiredOption('--chr <chr>', 'certificate holder reference, e.g. DECVCA00001')
    .option('--curve <curve>', 'brainpoolP256r1 | brainpoolP384r1 | brainpoolP512r1 | P-256 | P-384 | P-521', 'brainpoolP256r1')
    .option('--type <type>', 'terminal type: is, at or st', 'is')
    .option('--days <n>', 'validity in days', '1095')
    .option('--out <file>', 'write the certificate here')
    .option('--json', 'print JSON')
    .action((o: { chr: string; curve: string; type: string; days: string; out?: string; json?: boolean }) =>
      run(async (call) => {
        const r = await call<CertOut>('POST', '/epassport/cvcas', { chr: o.chr, curve: o.curve, terminalType: o.type, validityDays: Number(o.days) });
        save(o.out, r);
        print(o.json, r);
      }),
    );
  cvca
    .command('rollover')
    .description('new CVCA key: a link certificate and a self-signed one')
    .requiredOption('--holder <holder>', 'country code and mnemonic, e.g. DECVCA')
    .option('--curve <curve>', 'a new curve (default: the same)')
    .option('--days <n>', 'validity in days', '1095')
    .option('--out <file>', 'write the link certificate here')
    .option('--json', 'print JSON')
    .action((o: { holder: string; curve?: string; days: string; out?: string; json?: boolean }) =>
      run(async (call) => {
        const r = await call<{ link: CertOut; self: CertOut }>('POST', `/epassport/cvcas/${encodeURIComponent(o.holder)}/rollover`, { curve: o.curve, validityDays: Number(o.days) });
        save(o.out, r.link);
        print(o.json, r.link);
        print(o.json, r.self);
      }),
    );
  const dv = cvc.command('dv').description('document verifiers');
  dv
    .command('create')
    .description('a DV that Certgate operates (its key in the key store)')
    .requiredOption('--chr <chr>', 'e.g. DEDVIS00001')
    .requiredOption('--cvca <holder>', 'the CVCA, e.g. DECVCA')
    .option('--role <role>', 'dv_domestic or dv_foreign', 'dv_domestic')
    .option('--rights <hex>', 'authorisation bits (without role bits)')
    .option('--days <n>', 'validity in days', '90')
    .option('--out <file>', 'write the certificate here')
    .option('--json', 'print JSON')
    .action((o: { chr: string; cvca: string; role: string; rights?: string; days: string; out?: string; json?: boolean }) =>
      run(async (call) => {
        const r = await call<CertOut>('POST', '/epassport/dvs', { chr: o.chr, cvca: o.cvca, role: o.role, rights: o.rights, validityDays: Number(o.days) });
        save(o.out, r);
        print(o.json, r);
      }),
    );
}

function registerHolders(cvc: Command, run: Run): void {
  const dv = cvc.commands.find((c) => c.name() === 'dv')!;
  const register = (kind: 'dv' | 'terminal') => (o: { holder: string; cvca?: string; dv?: string; role?: string; profile: string; allowInitial?: boolean }) =>
    run(async (call) => {
      await call('POST', '/epassport/holders', { holder: o.holder, role: kind === 'dv' ? o.role : 'terminal', authority: kind === 'dv' ? o.cvca : o.dv, profile: o.profile, initialAllowed: o.allowInitial === true });
      process.stdout.write(`${o.holder} registered${o.allowInitial ? '; one initial request allowed' : ''}\n`);
    });
  dv.command('register').description('a DV (domestic or foreign) that requests certificates from a CVCA of Certgate')
    .requiredOption('--holder <holder>', 'country code and mnemonic, e.g. FRDVIS').requiredOption('--cvca <holder>', 'the CVCA').requiredOption('--profile <name>', 'CV profile')
    .option('--role <role>', 'dv_domestic or dv_foreign', 'dv_domestic').option('--allow-initial', 'accept one request without outer signature')
    .action(register('dv'));
  cvc.command('terminal').description('terminals').command('register').description('a terminal that requests certificates from a DV of Certgate')
    .requiredOption('--holder <holder>', 'e.g. DEISTERM').requiredOption('--dv <holder>', 'the DV').requiredOption('--profile <name>', 'CV profile')
    .option('--allow-initial', 'accept one request without outer signature')
    .action(register('terminal'));
  cvc.command('profile').description('CV profiles').command('put <name>')
    .requiredOption('--role <role>', 'dv_domestic, dv_foreign or terminal').option('--type <type>', 'is, at or st', 'is')
    .requiredOption('--chat <hex>', 'the most rights granted (hex, without role bits)').option('--max-days <n>', 'longest validity', '90')
    .action((name: string, o: { role: string; type: string; chat: string; maxDays: string }) =>
      run(async (call) => {
        await call('PUT', `/epassport/profiles/${encodeURIComponent(name)}`, { role: o.role, terminalType: o.type, chat: o.chat, maxValidityDays: Number(o.maxDays) });
        process.stdout.write(`profile ${name} saved\n`);
      }),
    );
}

function registerCertificates(cvc: Command, run: Run): void {
  cvc.command('import <file>').description('import a foreign CVCA, link or DV certificate (verified first)').option('--json', 'print JSON')
    .action((file: string, o: { json?: boolean }) => run(async (call) => void print(o.json, await call<CertOut>('POST', '/epassport/certificates/import', { certificate: readFileSync(file).toString('base64') }))));
  cvc.command('request <file>').description('process a CV certificate request received out of band').option('--out <file>', 'write the certificate here').option('--json', 'print JSON')
    .action((file: string, o: { out?: string; json?: boolean }) =>
      run(async (call) => {
        const r = await call<CertOut>('POST', '/epassport/requests', { certReq: readFileSync(file).toString('base64') });
        save(o.out, r);
        print(o.json, r);
      }),
    );
  cvc.command('list').description('CV certificates').option('--chr <chr>').option('--json', 'print JSON')
    .action((o: { chr?: string; json?: boolean }) =>
      run(async (call) => {
        const r = await call<{ certificates: (CertOut & { origin: string })[] }>('GET', `/epassport/certificates${o.chr ? `?chr=${encodeURIComponent(o.chr)}` : ''}`);
        for (const c of r.certificates) o.json ? print(true, c) : process.stdout.write(`${c.chr}\t${c.car}\t${c.role}\t${c.origin}\t${c.effective}\t${c.expiration}\n`);
      }),
    );
  cvc.command('export <chr>').description('write a CV certificate to a file').requiredOption('--out <file>')
    .action((chr: string, o: { out: string }) =>
      run(async (call) => {
        const r = await call<{ certificates: CertOut[] }>('GET', `/epassport/certificates?chr=${encodeURIComponent(chr)}`);
        if (!r.certificates[0]) throw new Error(`no certificate ${chr}`);
        save(o.out, r.certificates[0]);
      }),
    );
}
