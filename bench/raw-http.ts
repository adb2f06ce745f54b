/**
 * A minimal HTTP/1.1 keep-alive POST client on raw sockets: the load generator for benchmarks whose
 * server shares the machine's two cores with it. node:http cost the client ~300-450 µs of CPU per
 * request here (agent bookkeeping, header objects, stream events); this one writes a request built
 * before the clock in one `write` and reads the answer by its Content-Length, as wrk does, so what
 * is measured is the server. It speaks only what the benchmarks need: a 200/4xx/5xx status line,
 * Content-Length framing, keep-alive; anything else (chunked answers, a closed connection with
 * a request in flight) fails the request loudly rather than guessing.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** One connection, one request at a time. */
class Conn {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting?: { resolve(a: RawAnswer): void; reject(e: Error): void };
  closed = false;
  /** When the last answer came (ms): an idle connection is not reused near the server's keep-alive timeout. */
  lastUsed = performance.now();

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  send(request: Buffer): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private fail(e: Error): void {
    this.closed = true;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf(HEAD_END);
    if (end < 0) return;
    const head = this.buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) return this.fail(new Error(`answer without Content-Length (status ${status})`));
    const total = end + 4 + Number(m[1]);
    if (this.buf.length < total) return;
    const body = this.buf.subarray(end + 4, total);
    this.buf = this.buf.subarray(total);
    if (/\r\nconnection:\s*close/i.test(head)) this.closed = true;
    const w = this.waiting;
    this.waiting = undefined;
    this.lastUsed = performance.now();
    w?.resolve({ status, body });
  }
}

/**
 * Node's servers close a keep-alive connection after 5 s idle (`Keep-Alive: timeout=5`); a request
 * written just then is lost with the connection. Idle connections older than this are closed
 * here instead of reused.
 */
const IDLE_REUSE_MS = 2000;

/** Up to `max` keep-alive connections to host:port; a request waits for a free one. */
export class RawPoster {
  private idle: Conn[] = [];
  private open = 0;
  private queue: ((c: Conn) => void)[] = [];
  private all = new Set<Conn>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly max: number,
  ) {}

  static forUrl(url: string, max: number): RawPoster {
    const u = new URL(url);
    return new RawPoster(u.hostname, Number(u.port), max);
  }

  /** The request's bytes (head and body), built once before the clock. */
  static request(url: string, contentType: string, body: Buffer): Buffer {
    const u = new URL(url);
    const head = `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), body]);
  }

  async send(request: Buffer): Promise<RawAnswer> {
    const c = await this.take();
    try {
      return await c.send(request);
    } finally {
      this.give(c);
    }
  }

  /** Closes every connection; the next request opens new ones. */
  reset(): void {
    for (const c of this.all) c.close();
    this.all.clear();
    this.idle = [];
    this.open = 0;
  }

  close(): void {
    this.reset();
  }

  private take(): Promise<Conn> {
    let c = this.idle.pop();
    while (c && performance.now() - c.lastUsed > IDLE_REUSE_MS) {
      c.close();
      this.all.delete(c);
      this.open--;
      c = this.idle.pop();
    }
    if (c) return Promise.resolve(c);
    if (this.open < this.max) {
      this.open++;
      const n = new Conn(this.host, this.port);
      this.all.add(n);
      return Promise.resolve(n);
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  private give(c: Conn): void {
    if (c.closed) {
      this.all.delete(c);
      this.open--;
      const next = this.queue.shift();
      if (next) void this.take().then(next);
      return;
    }
    const next = this.queue.shift();
    if (next) next(c);
    else this.idle.push(c);
  }
}
