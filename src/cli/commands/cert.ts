/** `certgate` certificates: issue, revoke, suspend, reinstate, list, show. */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { registerCertBulkCommands } from './cert-bulk.ts';
import { CliError, EXIT_CLIENT, EXIT_PENDING, day, enc, fail, group, int, printJson, statuses, table, type Run } from './shared.ts';

export function registerCertCommands(program: Command, run: Run): void {
  const cert = group(program, 'cert').description('certificates: issue, search, revoke, suspend, reinstate');

  cert
    .command('issue')
    .description('issue a certificate from a CSR; prints the certificate (PEM) only')
    .requiredOption('--csr <file>', 'PKCS#10 request, PEM or DER ("-" reads stdin)')
    .requiredOption('--profile <name>', 'profile')
    .option('--validity <duration>', 'validity: D:H:M:S, ISO 8601 (P90D) or seconds')
    .option('--subject <dn>', 'subject DN to certify instead of the CSR\'s')
    .option('--san <type:value...>', 'SANs to certify instead of the CSR\'s (dns:, ip:, email:, uri:)')
    .option('--issuer <id>', 'issuer (must be allowed by the profile)')
    .option('--idempotency-key <key>', 'the same key returns the same certificate')
    .option('--chain', 'print the issuer chain after the certificate')
    .option('--json', 'print the full JSON result')
    .action((o: { csr: string; profile: string; validity?: string; subject?: string; san?: string[]; issuer?: string; idempotencyKey?: string; chain?: boolean; json?: boolean }) => {
      let csr: string;
      try {
        const bytes = o.csr === '-' ? readFileSync(0) : readFileSync(o.csr);
        const text = bytes.toString('latin1');
        csr = text.includes('-----BEGIN') ? text : bytes.toString('base64');
      } catch (e) {
        return fail(e);
      }
      return run(async (api) => {
        const r = await api.post('/certificates', {
          csr,
          profile: o.profile,
          validity: o.validity,
          subject: o.subject,
          sans: o.san,
          issuerId: o.issuer,
          idempotencyKey: o.idempotencyKey,
        });
        if (o.json) printJson(r);
        if (r.status === 'pending') {
          process.stderr.write(`certgate: request ${r.requestId} is pending manual approval (certgate request approve ${r.requestId})\n`);
          process.exitCode = EXIT_PENDING;
          return;
        }
        if (r.status === 'rejected') throw new CliError(`request ${r.requestId} was rejected: ${r.reason}`, EXIT_CLIENT);
        if (!o.json) process.stdout.write(r.certificate.pem + (o.chain ? r.chainPem : ''));
      });
    });

  const serialCommand = (name: 'revoke' | 'suspend' | 'reinstate', description: string) => {
    const c = cert
      .command(name)
      .description(description)
      .requiredOption('--serial <hex>', 'serial number, hex')
      .option('--issuer <id>', 'issuer (needed only when the serial exists under several)')
      .option('--json', 'print JSON');
    if (name === 'revoke') {
      c.option('--reason <name>', 'keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, … or a code');
      c.option('--invalidity-date <date>', 'when the key is known or suspected to have been compromised (RFC 3339)');
    }
    c.action((o: { serial: string; issuer?: string; reason?: string; invalidityDate?: string; json?: boolean }) =>
      run(async (api) => {
        const body: Record<string, unknown> = { issuerId: o.issuer };
        if (name === 'revoke') Object.assign(body, { reason: o.reason, invalidityDate: o.invalidityDate });
        const r = await api.post(`/certificates/${enc(o.serial)}/${name}`, body);
        if (o.json) return printJson(r);
        const done = { revoke: 'revoked', suspend: 'suspended', reinstate: 'reinstated' }[name];
        console.log(`${done} ${r.issuerId}:${r.serial} (${r.subject})${name === 'revoke' ? `, reason ${r.revocationReason}` : ''}`);
      }),
    );
  };
  serialCommand('revoke', 'revoke a certificate (CRL and OCSP show it at once)');
  serialCommand('suspend', 'suspend a certificate (certificateHold)');
  serialCommand('reinstate', 'lift a suspension');

  cert
    .command('list')
    .description('search certificates')
    .addOption(new Option('--status <status>', 'status').choices(statuses))
    .option('--subject <text>', 'subject contains (case-insensitive)')
    .option('--san <san>', 'SAN, type:value or a bare value')
    .option('--serial <hex>', 'serial number')
    .option('--profile <name>', 'profile')
    .option('--issuer <id>', 'issuer')
    .option('--expires-before <date>', 'notAfter before (RFC 3339)')
    .option('--expires-after <date>', 'notAfter after (RFC 3339)')
    .option('--limit <n>', 'at most this many', int, 100)
    .option('--offset <n>', 'skip this many', int, 0)
    .option('--json', 'print JSON')
    .action((o: Record<string, any>) =>
      run(async (api) => {
        const r = await api.get('/certificates', {
          status: o.status,
          subject: o.subject,
          san: o.san,
          serial: o.serial,
          profile: o.profile,
          issuer: o.issuer,
          expiresBefore: o.expiresBefore,
          expiresAfter: o.expiresAfter,
          limit: o.limit,
          offset: o.offset,
        });
        if (o.json) return printJson(r);
        table(r.items as any[], [
          ['SERIAL', (x) => x.serial],
          ['ISSUER', (x) => x.issuerId],
          ['SUBJECT', (x) => x.subject],
          ['PROFILE', (x) => x.profile],
          ['STATUS', (x) => (x.expired && x.status === 'valid' ? 'expired' : x.status)],
          ['NOT AFTER', (x) => day(x.notAfter)],
        ]);
        if (r.total > r.items.length) process.stderr.write(`(${r.items.length} of ${r.total}; use --limit/--offset)\n`);
      }),
    );

  cert
    .command('show')
    .description('show one certificate, by id or serial')
    .argument('<idOrSerial>')
    .option('--issuer <id>', 'issuer, when the serial exists under several')
    .option('--pem', 'print the PEM only')
    .option('--json', 'print JSON')
    .action((id: string, o: { issuer?: string; pem?: boolean; json?: boolean }) =>
      run(async (api) => {
        const r = await api.get(`/certificates/${enc(id)}`, { issuer: o.issuer });
        if (o.pem) return void process.stdout.write(r.pem);
        if (o.json) return printJson(r);
        const { pem: _pem, ...rest } = r;
        printJson(rest);
      }),
    );
  registerCertBulkCommands(cert, run);
}
