import { loadConfig } from '../src/config.ts';
import { createContext } from '../src/context.ts';
import pino from 'pino';
import { saveCrl } from './crl.ts';

const config = loadConfig({}, { dataDir: process.env.BENCH_DATA_DIR!, databaseUrl: process.env.BENCH_DB_URL || undefined, logLevel: 'silent', metricsEnabled: false });
const ctx = await createContext(config, { bootstrap: false, logger: pino({ level: 'silent' }) });
const baseline = process.memoryUsage().rss;
const peakBefore = process.resourceUsage().maxRSS / 1024;
const t0 = performance.now();
const crl = await ctx.crls.generate(process.env.BENCH_ISSUER!);
const seconds = (performance.now() - t0) / 1000;
const rssMb = process.resourceUsage().maxRSS / 1024;
const file = saveCrl(config.dataDir, crl.der);
await ctx.close();
const entries = (await import('../src/pki/crl.ts')).parseCrl(crl.der).entries.length;
console.log(JSON.stringify({ seconds, rssMb, peakBeforeMb: peakBefore, baselineRssMb: baseline / 1024 / 1024, entries, bytes: crl.der.length, file }));
