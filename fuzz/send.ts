/** Sends one input over a fresh loopback connection with node:http; classifies what came back. */
import { request, Agent } from 'node:http';
import type { FuzzInput } from './types.ts';

export type Outcome = { kind: 'status'; status: number } | { kind: 'hang' } | { kind: 'aborted' } | { kind: 'connection-error'; message: string };

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

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
    let req: ReturnType<typeof request>;
    try {
      req = request(
        { host: base.hostname, port: base.port, method: input.method, path: input.path, headers, agent: input.truncate ? false : agent },
        (res) => {
          res.resume();
          res.on('end', () => finish({ kind: 'status', status: res.statusCode ?? 0 }));
          res.on('error', () => finish({ kind: 'status', status: res.statusCode ?? 0 }));
        },
      );
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
