/**
 * CMP ir transactions over HTTP — PasswordBasedMac check (500 iterations, OpenSSL's default),
 * CRMF decode, POP signature check, issue, store with the transaction row, MAC-protected ip with
 * implicit confirm — at concurrency 16 against a Certgate started as its own process, driven by a
 * raw-socket client (raw-http.ts), printed beside the pipeline's own rate (ctx.pipeline.issue in
 * this process with every protocol mounted, so with serve's issuance hooks; same kind of key and
 * profile, same concurrency, a database of its own) measured in the same run, as a ratio. The
 * bare pipeline (no protocol hooks) is printed beside it.
 * CMP_BENCH_PROF=<dir> makes the server write a V8 CPU profile there.
 *
 * The two are measured in alternating rounds (ir, pipeline, ir, pipeline, …) and the ratio is the
 * median of the rounds' ratios: on a shared machine whose load moves by a factor of two within a
 * minute, one long ir phase followed by one long pipeline phase compared two different machines.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { directoryGeneralName, NULL_DN_NAME, type PKIHeader } from '../src/pki/cmp-header.ts';
import { decodePKIMessage, encodePKIMessage, protectedPartOf } from '../src/pki/cmp-message.ts';
import { itOids } from '../src/pki/cmp-info-type-value.ts';
import { PASSWORD_BASED_MAC, encodePbmParameter, pbmMac, type PBMParameter } from '../src/pki/cmp-pbm.ts';
import { encodeCertReqMessages, encodeCertRequest, type CertRequest } from '../src/pki/crmf-cert-req-messages.ts';
import { childList, readTlv, seq, Tag } from '../src/pki/der.ts';
import { subjectAltName } from '../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../src/pki/name.ts';
import { createCmpProtocol } from '../protocols/cmp/index.ts';
import { protocols } from '../protocols/index.ts';
import { SecretStore } from '../protocols/cmp/secrets.ts';
import { createProtocolContext } from '../src/protocol-context-impl.ts';
import { startServer } from '../src/server.ts';
import { benchContext, fmt, freshDb, pgReachable } from './support.ts';
import { startCertgate, stopCertgate, timedLoad } from './server.ts';
import { cpuPerOp, sampleCpu, type CpuSample } from './cpu-split.ts';
import { RawPoster } from './raw-http.ts';

const CONCURRENCY = 16;
/** Alternating ir / pipeline rounds per database. */
const ROUNDS = 5;

interface Key {
  spki: Buffer;
  cn: string;
  req: CertRequest;
  pop: Buffer;
}

/** Client-side work done before the clock: a key, its CRMF request and POP signature. */
export function makeKey(i: number): Key {
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = k.publicKey.export({ type: 'spki', format: 'der' });
  const cn = `cmp-bench-${i}.example`;
  const req: CertRequest = {
    certReqId: 0n,
    certTemplate: { subject: encodeName(toEncodedAttributes(parseDn(`CN=${cn}`))), publicKey: spki, extensions: seq(subjectAltName([{ type: 'dns', value: cn }])) },
  };
  return { spki, cn, req, pop: sign('sha256', encodeCertRequest(req), k.privateKey) };
}

export function irMessage(k: Key, ref: string, secret: string): Buffer {
  const body = {
    type: 'ir' as const,
    content: encodeCertReqMessages([{ certReq: k.req, popo: { kind: 'signature', algorithm: { oid: '1.2.840.10045.4.3.2' }, signature: k.pop } }]),
  };
  const params: PBMParameter = { salt: randomBytes(16), owf: { oid: '2.16.840.1.101.3.4.2.1' }, iterationCount: 500, mac: { oid: '1.3.6.1.5.5.8.1.2' } };
  const header: PKIHeader = {
    pvno: 2,
    sender: directoryGeneralName(encodeName(toEncodedAttributes(parseDn(`CN=${k.cn}`)))),
    recipient: NULL_DN_NAME,
    messageTime: new Date(),
    protectionAlg: { oid: PASSWORD_BASED_MAC, params: encodePbmParameter(params) },
    senderKID: Buffer.from(ref),
    transactionID: randomBytes(16),
    senderNonce: randomBytes(16),
    generalInfo: [{ type: itOids.implicitConfirm, value: Buffer.from([5, 0]) }],
  };
  return encodePKIMessage({ header, body, protection: pbmMac(params, Buffer.from(secret), protectedPartOf(header, body)) });
}

export async function run(opts: { quick: boolean }): Promise<void> {
  const drivers: ('pglite' | 'postgres')[] = ['pglite'];
  if (!opts.quick && (await pgReachable())) drivers.push('postgres');
  const total = opts.quick ? 400 : 3000;
  const seconds = opts.quick ? 5 : 15;
  // Warm-up to the JIT's steady state: with 60 transactions the server was still compiling (TurboFan
  // on V8's platform threads took ~400 µs of CPU per transaction through the first few thousand).
  const warm = opts.quick ? 20 : 2500;
  execFileSync('openssl', ['version'], { stdio: 'ignore' });

  console.log('\n== CMP ir (MAC, implicit confirm) over HTTP vs the pipeline with serve\'s issuance hooks, transactions/s (concurrency 16) ==');
  console.log('  HTTP: PasswordBasedMac (500 iterations), CRMF decode, POP check, issue, store with the transaction row, MAC-protected ip; server in its own process');
  console.log('  pipeline: ctx.pipeline.issue in this process, every protocol mounted (OCSP pre-signing, ACME/SCEP SQL hooks); both under V8\'s heap policy');
  console.log(`  (each figure: up to ${total} transactions or ${seconds} s, in ${ROUNDS} alternating ir/pipeline rounds; ratio: the median round; bar ≥ 0.5)`);
  console.log(`  ${'db'.padEnd(9)} ${'ir/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'pipeline/s'.padStart(11)}  ratio`);

  for (const driver of drivers) {
    const keys = Array.from({ length: total + warm }, (_, i) => makeKey(i));
    const { db2, ctx } = await freshDb(driver).then(async (db2) => ({ db2, ctx: await benchContext(db2) }));
    const { db3, bareCtx } = await freshDb(driver).then(async (db3) => ({ db3, bareCtx: await benchContext(db3) }));
    const db = await freshDb(driver);
    let srv: Awaited<ReturnType<typeof startCertgate>> | undefined;
    let local: Awaited<ReturnType<typeof inProcessCmp>> | undefined;
    const rounds: Round[] = [];
    const cpu: { http: [CpuSample, CpuSample][]; pipe: [CpuSample, CpuSample][] } = { http: [], pipe: [] };
    let failures = 0;
    try {
      // Both sides under V8's own heap-growth policy: the pipeline runs in this process, which holds the
      // benchmark's keys and messages too, and so is not given serve's tighter cap
      // (CERTGATE_HEAP_GROWING_PERCENT, 25) either.
      srv = await startCertgate(db.dataDir, db.url, { profDirEnv: 'CMP_BENCH_PROF', env: { CERTGATE_HEAP_GROWING_PERCENT: '0' } });
      const secret = await makeSecret(srv);
      const target = `${srv.base}/cmp`;
      const requests = keys.map((k) => RawPoster.request(target, 'application/pkixcmp', irMessage(k, 'bench', secret)));
      let i = 0;
      const post = RawPoster.forUrl(target, CONCURRENCY);
      const ir = async () => {
        const a = await post.send(requests[i++ % requests.length]);
        if (a.status !== 200 || !isAcceptedIp(a.body)) failures++;
      };
      // The light answer check agrees with a full decode: an ip that is accepted, and a request
      // with a broken MAC (its last byte flipped) is not.
      const first = await post.send(RawPoster.request(target, 'application/pkixcmp', irMessage(makeKey(999_999), 'bench', secret)));
      if (decodePKIMessage(first.body).body.type !== 'ip' || !isAcceptedIp(first.body)) throw new Error('cmp bench: the first ir was not answered by an accepted ip');
      const forged = Buffer.from(requests[0]);
      forged[forged.length - 1] ^= 1;
      if (isAcceptedIp((await post.send(forged)).body)) throw new Error('cmp bench: a forged MAC was answered by an accepted ip');
      let j = 0;
      const issueOn = (on: typeof ctx) => () => {
        const k = keys[j++ % keys.length];
        return on.pipeline.issue({
          principal: { id: 'cmp:ref:bench', protocol: 'cmp', authenticatedBy: 'hmac' },
          profile: 'device',
          key: { kind: 'spki', der: k.spki, pop: 'verified-by-protocol' },
          subject: [{ type: 'CN', value: k.cn }],
          sans: [{ type: 'dns', value: k.cn }],
          idempotencyKey: randomUUID(),
        });
      };
      const issue = issueOn(ctx);
      const bare = issueOn(bareCtx);
      local = await inProcessCmp(ctx, keys.length);
      const handle = local.handle;
      await timedLoad(warm, 30, CONCURRENCY, ir);
      await timedLoad(warm, 30, CONCURRENCY, issue);
      await timedLoad(warm, 30, CONCURRENCY, bare);
      await timedLoad(warm, 30, CONCURRENCY, handle);
      for (let r = 0; r < ROUNDS; r++) {
        // Fresh connections each round: the server closes keep-alive sockets left idle by the other phases.
        post.reset();
        const c0 = sampleCpu(srv.child.pid);
        const http = await timedLoad(Math.ceil(total / ROUNDS), seconds / ROUNDS, CONCURRENCY, ir);
        const c1 = sampleCpu(srv.child.pid);
        const pipe = await timedLoad(Math.ceil(total / ROUNDS), seconds / ROUNDS, CONCURRENCY, issue);
        const c2 = sampleCpu();
        cpu.http.push([c0, c1]);
        cpu.pipe.push([{ ...c1, serverMain: 0, serverOthers: 0 }, c2]);
        const inproc = await timedLoad(Math.ceil(total / ROUNDS), seconds / ROUNDS, CONCURRENCY, handle);
        const bareRound = await timedLoad(Math.ceil(total / ROUNDS), seconds / ROUNDS, CONCURRENCY, bare);
        rounds.push({ http, pipe, inproc, bare: bareRound });
      }
      post.close();
      failures += local.failures();
    } finally {
      await local?.stop();
      if (srv) await stopCertgate(srv.child);
      await db.drop();
      await ctx.close();
      await db2.drop();
      await bareCtx.close();
      await db3.drop();
    }
    report(driver, rounds, failures);
    console.log(`  ${''.padEnd(9)} where the CPU goes, HTTP ir: ${cpuSplit(cpu.http, rounds.map((r) => r.http.n), 'client')}`);
    console.log(`  ${''.padEnd(9)} where the CPU goes, pipeline: ${cpuSplit(cpu.pipe, rounds.map((r) => r.pipe.n), 'pipeline (this process)')}`);
    if (failures) throw new Error(`${failures} ir transactions failed`);
  }
}

type Load = Awaited<ReturnType<typeof timedLoad>>;

/** The CPU of all rounds of one kind, summed, per transaction. */
function cpuSplit(samples: [CpuSample, CpuSample][], ns: number[], selfName: string): string {
  const zero: CpuSample = { serverMain: 0, serverOthers: 0, self: 0, postgres: 0 };
  const sum = samples.reduce((acc, [a, b]) => ({
    serverMain: acc.serverMain + b.serverMain - a.serverMain,
    serverOthers: acc.serverOthers + b.serverOthers - a.serverOthers,
    self: acc.self + b.self - a.self,
    postgres: acc.postgres + b.postgres - a.postgres,
  }), zero);
  return cpuPerOp(zero, sum, ns.reduce((x, y) => x + y, 0), selfName);
}
type Round = { http: Load; pipe: Load; inproc: Load; bare: Load };

/** Overall rates (every round's transactions over every round's time) and the median round ratio. */
function report(driver: string, rounds: Round[], failures: number): void {
  const overall = (k: keyof Round) => rounds.reduce((a, r) => a + r[k].n, 0) / rounds.reduce((a, r) => a + r[k].n / r[k].rate, 0);
  const median = (k: 'http' | 'inproc', of: 'pipe' | 'bare' = 'pipe') => {
    const ratios = rounds.map((r) => r[k].rate / r[of].rate).sort((a, b) => a - b);
    return { m: ratios[Math.floor(ratios.length / 2)], all: ratios.map((x) => x.toFixed(2)).join(' ') };
  };
  const http = rounds[Math.floor(rounds.length / 2)].http;
  const h = median('http');
  const l = median('inproc');
  console.log(
    `  ${driver.padEnd(9)} ${fmt(overall('http')).padStart(10)} ${fmt(http.p50, 2).padStart(8)} ${fmt(http.p99, 2).padStart(8)} ${fmt(overall('pipe')).padStart(11)}  ${h.m.toFixed(2)} of the pipeline (median of ${rounds.length} rounds: ${h.all})${failures ? `  (${failures} failed!)` : ''}`,
  );
  const b = median('http', 'bare');
  console.log(`  ${''.padEnd(9)} in process, no HTTP (CmpService.handle): ${fmt(overall('inproc'))}/s, ${l.m.toFixed(2)} of the pipeline (rounds: ${l.all})`);
  console.log(`  ${''.padEnd(9)} the pipeline without the protocols' issuance hooks (no OCSP pre-signing): ${fmt(overall('bare'))}/s; ir/s is ${b.m.toFixed(2)} of it (rounds: ${b.all})`);
}

/**
 * The CMP service mounted on the pipeline's own context (same process, same database): what
 * CMP adds to an issuance without the HTTP transport and the second process.
 */
async function inProcessCmp(ctx: Awaited<ReturnType<typeof benchContext>>, count: number) {
  const cmp = createCmpProtocol({ settings: { sweepMs: 3_600_000 } });
  // Every protocol `serve` mounts, so the pipeline here runs the same issuance hooks as the server
  // under test (OCSP pre-signs each new certificate; ACME and SCEP add SQL to its INSERT).
  const server = await startServer(ctx, [...protocols.filter((p) => p.name !== 'cmp'), cmp], { https: false });
  const { secret } = await new SecretStore(createProtocolContext(ctx, 'cmp')).add('bench-local', null, 'bench');
  const bodies = Array.from({ length: count }, (_, i) => irMessage(makeKey(100_000 + i), 'bench-local', secret));
  const service = cmp.services[0];
  let n = 0;
  let failures = 0;
  return {
    handle: async () => {
      if (decodePKIMessage(await service.handle(bodies[n++ % bodies.length], 'device')).body.type !== 'ip') failures++;
    },
    failures: () => failures,
    stop: () => server.stop(),
  };
}

export async function makeSecret(srv: { base: string; token: string }): Promise<string> {
  const made = await fetch(`${srv.base}/api/v1/cmp/secrets`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ ref: 'bench' }),
  });
  if (made.status !== 201) throw new Error(`secret: ${made.status} ${await made.text()}`);
  return ((await made.json()) as { secret: string }).secret;
}

/**
 * The answer is an ip whose one CertResponse has PKIStatus accepted (0) or grantedWithMods (1):
 * read by walking the DER to that INTEGER, not by decoding the whole message (the client's CPU
 * is shared with the server). Anything else, or DER that does not walk, is a failed transaction.
 */
export function isAcceptedIp(der: Buffer): boolean {
  try {
    const [, body] = childList(der, readTlv(der));
    if (body?.tag !== 0xa1) return false; // [1] ip
    const rep = childList(der, childList(der, body)[0]);
    const responses = rep[rep.length - 1]; // after the optional [1] caPubs
    const status = childList(der, childList(der, childList(der, responses)[0])[1])[0];
    if (status.tag !== Tag.INTEGER || status.length !== 1) return false;
    return der[status.start] === 0 || der[status.start] === 1;
  } catch {
    return false;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}
