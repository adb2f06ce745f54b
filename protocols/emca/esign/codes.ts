/**
 * One-time codes that authorise one signing: eight random digits, kept only as an HMAC (key
 * derived from the KEK, bound to the request id), compared in constant time; delivered to the
 * signer through the configured channel — never to the application that asked for the signature.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { ProtocolContext } from '../../../src/protocol-context.ts';

export class CodeBox {
  private readonly key: Buffer;
  constructor(private readonly ctx: ProtocolContext) {
    this.key = ctx.secrets.derive('esign-code-mac', 32);
  }

  /** A fresh code: eight decimal digits (26.6 bits, enough with the attempts limit and the expiry). */
  fresh(): string {
    return String(randomInt(0, 100_000_000)).padStart(8, '0');
  }

  mac(requestId: string, code: string): Buffer {
    return createHmac('sha256', this.key).update(`${requestId}\u0000${code}`).digest();
  }

  matches(requestId: string, given: string, expected: Uint8Array): boolean {
    const mac = this.mac(requestId, given);
    return mac.length === expected.length && timingSafeEqual(mac, expected);
  }

  sealForOperator(requestId: string, code: string): Buffer {
    return this.ctx.secrets.seal(`esign-code:${requestId}`, Buffer.from(code, 'utf8'));
  }

  unsealForOperator(requestId: string, sealed: Uint8Array): string {
    return this.ctx.secrets.unseal(`esign-code:${requestId}`, sealed).toString('utf8');
  }
}

export interface CodeNotice {
  requestId: string;
  clientId: string;
  signerId: string;
  code: string;
  expiresAt: string;
}

/** POSTs the code to the operator's delivery gateway; true when it answered 2xx within 10 s. */
export async function deliverByWebhook(url: string, n: CodeNotice, ctx: ProtocolContext): Promise<boolean> {
  try {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ event: 'emca.esign.code', ...n }),
      signal: AbortSignal.timeout(10_000),
      redirect: 'error',
    });
    await r.body?.cancel();
    if (!r.ok) ctx.log.warn({ requestId: n.requestId, status: r.status }, 'emca esign: code webhook refused the code');
    return r.ok;
  } catch (e) {
    ctx.log.warn({ requestId: n.requestId, err: (e as Error).message }, 'emca esign: code webhook unreachable');
    return false;
  }
}
