/**
 * Sends one input over a loopback connection with node:http, or node:https when the input asks for
 * the TLS listener (port + 1, the dev self-signed chain: not verified); classifies what came back.
 */
import { request, Agent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { FuzzInput } from './types.ts';

export type Outcome = { kind: 'status'; status: number } | { kind: 'hang' } | { kind: 'aborted' } | { kind: 'connection-error'; message: string };

const agent = new Agent({ keepAlive: true, maxSockets: 16 });
const tlsAgents = new Map<string, HttpsAgent>();

/** One keep-alive agent per client identity (none, or a PEM key and certificate). */
function tlsAgent(tls: NonNullable<FuzzInput['tls']>): HttpsAgent {
  const id = tls.certPem ?? '';
  let a = tlsAgents.get(id);
  if (!a) {
    a = new HttpsAgent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false, key: tls.keyPem, cert: tls.certPem });
    tlsAgents.set(id, a);
  }
  return a;
}

export function send(base: URL, input: FuzzInput, hangMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const body = input.body === undefined ? undefined : Buffer.from(input.body);
    const headers: Record<string, string> = { ...(input.headers ?? {}) };
    if (body && !input.chunked) headers['content-length'] = String(body.length);
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    const onResponse = (res: import('node:http').IncomingMessage) => {
      res.resume();
      res.on('end', () => finish({ kind: 'status', status: res.statusCode ?? 0 }));
      res.on('error', () => finish({ kind: 'status', status: res.statusCode ?? 0 }));
    };
    let req: ReturnType<typeof request>;
    try {
      const common = { host: base.hostname, method: input.method, path: input.path, headers };
      req = input.tls
        ? httpsRequest(
            { ...common, port: Number(base.port) + 1, rejectUnauthorized: false, key: input.tls.keyPem, cert: input.tls.certPem, agent: input.truncate ? false : tlsAgent(input.tls) },
            onResponse,
          )
        : request({ ...common, port: base.port, agent: input.truncate ? false : agent }, onResponse);
    } catch (e) {
      // The client library refuses it (e.g. an invalid header): nothing was sent.
      return resolve({ kind: 'connection-error', message: `not sent: ${(e as Error).message}` });
    }
    const timer = setTimeout(() => {
      finish({ kind: 'hang' });
      req.destroy();
    }, hangMs);
    req.on('error', (e) => finish(input.truncate ? { kind: 'aborted' } : { kind: 'connection-error', message: e.message }));
    if (!body) return void req.end();
    if (input.truncate) {
      req.write(body.subarray(0, Math.max(1, body.length >> 1)));
      setTimeout(() => {
        req.destroy();
        finish({ kind: 'aborted' });
      }, 20);
      return;
    }
    if (input.chunked) {
      const third = Math.ceil(body.length / 3) || 1;
      for (let i = 0; i < body.length; i += third) req.write(body.subarray(i, i + third));
      return void req.end();
    }
    req.end(body);
  });
}
