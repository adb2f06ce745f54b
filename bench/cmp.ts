/**
 * CMP ir transactions over HTTP — PasswordBasedMac check (500 iterations, OpenSSL's default),
 * CRMF decode, POP signature check, transaction claim, issue, store, MAC-protected ip with
 * implicit confirm — at concurrency 16 against a Certgate started as its own process, printed
 * beside the pipeline's own rate (ctx.pipeline.issue in this process, same kind of key and
 * profile, same concurrency, a database of its own) measured in the same run, as a ratio.
 * CMP_BENCH_PROF=<dir> makes the server write a V8 CPU profile there.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { directoryGeneralName, NULL_DN_NAME, type PKIHeader } from '../src/pki/cmp-header.ts';
import { decodePKIMessage, encodePKIMessage, protectedPartOf } from '../src/pki/cmp-message.ts';
import { itOids } from '../src/pki/cmp-info-type-value.ts';
import { PASSWORD_BASED_MAC, encodePbmParameter, pbmMac, type PBMParameter } from '../src/pki/cmp-pbm.ts';
import { encodeCertReqMessages, encodeCertRequest, type CertRequest } from '../src/pki/crmf-cert-req-messages.ts';
import { seq } from '../src/pki/der.ts';
import { subjectAltName } from '../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../src/pki/name.ts';
import { benchContext, fmt, freshDb, pgReachable } from './support.ts';
import { startCertgate, stopCertgate, timedLoad } from './server.ts';

const CONCURRENCY = 16;

interface Key {
  spki: Buffer;
  cn: string;
  req: CertRequest;
  pop: Buffer;
}

/** Client-side work done before the clock: a key, its CRMF request and POP signature. */
function makeKey(i: number): Key {
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = k.publicKey.export({ type: 'spki', format: 'der' });
  const cn = `cmp-bench-${i}.example`;
  const req: CertRequest = {
    certReqId: 0n,
    certTemplate: { subject: encodeName(toEncodedAttributes(parseDn(`CN=${cn}`))), publicKey: spki, extensions: seq(subjectAltName([{ type: 'dns', value: cn }])) },
  };
  return { spki, cn, req, pop: sign('sha256', encodeCertRequest(req), k.privateKey) };
}

function irMessage(k: Key, ref: string, secret: string): Buffer {
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
  const warm = opts.quick ? 20 : 60;
  execFileSync('openssl', ['version'], { stdio: 'ignore' });

  console.log('\n== CMP ir (MAC, implicit confirm) over HTTP vs the pipeline alone, transactions/s (concurrency 16) ==');
  console.log('  HTTP: PasswordBasedMac (500 iterations), CRMF decode, POP check, transaction claim, issue, store, MAC-protected ip; server in its own process');
  console.log(`  (each figure: up to ${total} transactions or ${seconds} s; bar: ratio ≥ 0.5)`);
  console.log(`  ${'db'.padEnd(9)} ${'ir/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'pipeline/s'.padStart(11)}  ratio`);

  for (const driver of drivers) {
    const keys = Array.from({ length: total + warm }, (_, i) => makeKey(i));
    const pipelineSetup = freshDb(driver).then(async (db2) => ({ db2, ctx: await benchContext(db2) }));
    const db = await freshDb(driver);
    const srv = await startCertgate(db.dataDir, db.url, { profDirEnv: 'CMP_BENCH_PROF' });
    let http: Awaited<ReturnType<typeof timedLoad>>;
    let failures = 0;
    try {
      const made = await fetch(`${srv.base}/api/v1/cmp/secrets`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ref: 'bench' }),
      });
      if (made.status !== 201) throw new Error(`secret: ${made.status} ${await made.text()}`);
      const { secret } = (await made.json()) as { secret: string };
      const bodies = keys.map((k) => irMessage(k, 'bench', secret));
      let i = 0;
      // node:http with keep-alive: a load generator lighter than fetch (undici cost the client
      // ~15 ms per request here, on the same two cores as the server).
      const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      const url = new URL(`${srv.base}/cmp`);
      const post = (body: Buffer) =>
        new Promise<Buffer>((resolve, reject) => {
          const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/pkixcmp', 'content-length': body.length } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks)));
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end(body);
        });
      const one = async () => {
        const m = decodePKIMessage(await post(bodies[i++]));
        if (m.body.type !== 'ip') failures++;
      };
      await timedLoad(warm, 10, CONCURRENCY, one);
      http = await timedLoad(total, seconds, CONCURRENCY, one);
      agent.destroy();
    } catch (e) {
      await pipelineSetup.then(({ db2, ctx }) => ctx.close().then(() => db2.drop())).catch(() => {});
      throw e;
    } finally {
      await stopCertgate(srv.child);
      await db.drop();
    }

    const { db2, ctx } = await pipelineSetup;
    let j = 0;
    const issue = () => {
      const k = keys[j++ % keys.length];
      return ctx.pipeline.issue({
        principal: { id: 'cmp:ref:bench', protocol: 'cmp', authenticatedBy: 'hmac' },
        profile: 'device',
        key: { kind: 'spki', der: k.spki, pop: 'verified-by-protocol' },
        subject: [{ type: 'CN', value: k.cn }],
        sans: [{ type: 'dns', value: k.cn }],
        idempotencyKey: randomUUID(),
      });
    };
    await timedLoad(warm, 10, CONCURRENCY, issue);
    const pipe = await timedLoad(total, seconds, CONCURRENCY, issue);
    await ctx.close();
    await db2.drop();

    console.log(
      `  ${driver.padEnd(9)} ${fmt(http.rate).padStart(10)} ${fmt(http.p50, 2).padStart(8)} ${fmt(http.p99, 2).padStart(8)} ${fmt(pipe.rate).padStart(11)}  ${(http.rate / pipe.rate).toFixed(2)} of the pipeline${failures ? `  (${failures} failed!)` : ''}`,
    );
    if (failures) throw new Error(`${failures} ir transactions failed`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}
