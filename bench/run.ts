import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench [-- --quick] [-- --only pipeline,crl,ocsp,acme,emca,cms,scep,est,cmp,cli,memory,hsm]`: every benchmark prints
 * its figures beside the limit it is judged against, as ratios.
 */
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1]).split(',') : undefined;
const suites = ['pipeline', 'crl', 'ocsp', 'emca', 'acme', 'cms', 'scep', 'est', 'cmp', 'cli', 'memory', 'hsm'];

console.log(`Certgate benchmarks${quick ? ' (quick)' : ''} — node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
let failed = false;
for (const name of suites) {
  if (only && !only.includes(name)) continue;
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  if (!existsSync(file)) continue;
  try {
    const mod = (await import(file)) as { run(o: { quick: boolean }): Promise<void> };
    await mod.run({ quick });
  } catch (e) {
    failed = true;
    console.error(`benchmark ${name} failed: ${(e as Error).stack ?? e}`);
  }
}
process.exit(failed ? 1 : 0);
