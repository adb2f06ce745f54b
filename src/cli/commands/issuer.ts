/** `certgate` issuers: list, show, create, import, rollover. */
import { type Command, Option } from 'commander';
import { day, enc, fail, group, int, keyTypes, printJson, readText, table, type Run } from './shared.ts';

export function registerIssuerCommands(program: Command, run: Run): void {
  const issuer = group(program, 'issuer').description('certificate authorities (issuers)');

  issuer
    .command('list')
    .description('list issuers')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (api) => {
        const list = await api.get<any[]>('/issuers');
        if (o.json) return printJson(list);
        table(list, [
          ['ID', (i) => i.id],
          ['NAME', (i) => i.name],
          ['PARENT', (i) => i.parentId ?? '-'],
          ['DEFAULT', (i) => (i.isDefault ? 'yes' : '')],
          ['KEY', (i) => i.keyAlgorithm],
          ['NOT AFTER', (i) => day(i.notAfter)],
          ['STATUS', (i) => i.status],
        ]);
      }),
    );

  issuer
    .command('show')
    .description('show one issuer')
    .argument('<id>')
    .option('--pem', 'print its certificate chain as PEM only')
    .option('--json', 'print JSON')
    .action((id: string, o: { pem?: boolean; json?: boolean }) =>
      run(async (api) => {
        const i = await api.get(`/issuers/${enc(id)}`);
        if (o.pem) return void process.stdout.write(i.chainPem);
        if (o.json) return printJson(i);
        const { certificatePem: _c, chainPem: _ch, ...rest } = i;
        printJson(rest);
      }),
    );

  issuer
    .command('create')
    .description('create a CA: a subordinate of --parent, or a self-signed root without it')
    .requiredOption('--id <id>', 'issuer id (a-z 0-9 -)')
    .requiredOption('--name <name>', 'display name (the CN unless --subject is given)')
    .option('--parent <id>', 'signing issuer')
    .option('--subject <dn>', 'subject DN, e.g. "CN=Ops CA,O=Example"')
    .addOption(new Option('--key-type <type>', 'key type').choices(keyTypes).default('ec-p256'))
    .addOption(new Option('--key <store>', 'where the key is generated: sealed in the database, or on the HSM token').choices(['software', 'pkcs11']).default('software'))
    .option('--key-ref <uri>', 'use an existing HSM key (pkcs11:token=…;object=…) instead of generating one')
    .option('--rsa-pss', 'RSA keys: sign RSASSA-PSS (SHA-256) instead of PKCS#1 v1.5')
    .option('--validity-days <days>', 'validity in days', int, 3650)
    .option('--path-length <n>', 'basicConstraints pathLen', int)
    .option('--default', 'make it the default issuing CA')
    .option('--json', 'print JSON')
    .action((o: { id: string; name: string; parent?: string; subject?: string; keyType: string; key: string; keyRef?: string; rsaPss?: boolean; validityDays: number; pathLength?: number; default?: boolean; json?: boolean }) =>
      run(async (api) => {
        const i = await api.post('/issuers', {
          id: o.id,
          name: o.name,
          subject: o.subject,
          parentId: o.parent,
          keyType: o.keyType,
          keyStore: o.keyRef ? 'pkcs11' : o.key,
          keyRef: o.keyRef,
          signatureScheme: o.rsaPss ? 'rsa-pss' : undefined,
          validityDays: o.validityDays,
          pathLength: o.pathLength,
          default: o.default,
        });
        if (o.json) return printJson(i);
        console.log(`created issuer ${i.id}: ${i.subject} (${i.keyAlgorithm}, until ${day(i.notAfter)}${i.isDefault ? ', default' : ''})`);
        if (i.keyStore === 'pkcs11') printCeremony(i);
      }),
    );

  issuer
    .command('rollover')
    .description('announce a CA rollover: <id> will be succeeded by --successor (an issuer made with create or import); SCEP GetNextCACert offers it')
    .argument('<id>')
    .option('--successor <id>', 'the issuer that takes over')
    .option('--clear', 'end the announcement')
    .action((id: string, o: { successor?: string; clear?: boolean }) => {
      if (!o.successor === !o.clear) return fail(new Error('give either --successor <id> or --clear'));
      return run(async (api) => {
        const i = await api.patch(`/issuers/${enc(id)}`, { successorId: o.clear ? null : o.successor });
        console.log(i.successorId ? `issuer ${i.id}: rollover to ${i.successorId} announced` : `issuer ${i.id}: no rollover announced`);
      });
    });

  issuer
    .command('import')
    .description('import an existing CA certificate and its private key (kept sealed)')
    .requiredOption('--id <id>', 'issuer id (a-z 0-9 -)')
    .requiredOption('--cert <file>', 'CA certificate, PEM')
    .requiredOption('--key <file>', 'its private key, unencrypted PEM')
    .option('--name <name>', 'display name (default: the subject)')
    .option('--parent <id>', 'issuer that signed it')
    .option('--default', 'make it the default issuing CA')
    .action((o: { id: string; cert: string; key: string; name?: string; parent?: string; default?: boolean }) => {
      let certificatePem: string, privateKeyPem: string;
      try {
        certificatePem = readText(o.cert);
        privateKeyPem = readText(o.key);
      } catch (e) {
        return fail(e);
      }
      return run(async (api) => {
        const i = await api.post('/issuers/import', { id: o.id, name: o.name, certificatePem, privateKeyPem, parentId: o.parent, default: o.default });
        console.log(`imported issuer ${i.id}: ${i.subject}`);
      });
    });
}

/** The key ceremony record of an HSM-held CA: where the key is, its public key, certificate and fingerprint. */
function printCeremony(i: { keyRef: string; publicKeyPem: string; certificatePem: string; fingerprintSha256: string }): void {
  console.log('');
  console.log('key ceremony record');
  console.log(`  key (on the HSM token, non-extractable): ${i.keyRef}`);
  console.log(`  certificate SHA-256 fingerprint: ${i.fingerprintSha256}`);
  console.log('');
  process.stdout.write(i.publicKeyPem);
  process.stdout.write(i.certificatePem);
}
