/**
 * Name resolution for the validation authority: the configured DNS server
 * (CERTGATE_ACME_DNS_RESOLVER, node:dns Resolver) or the system resolver, and the SSRF guard that
 * keeps validation away from private, loopback and link-local addresses unless allowed.
 */
import { lookup, resolveCaa, resolveTxt, Resolver } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { AcmeSettings } from '../settings.ts';

export class ValidationError extends Error {
  constructor(
    readonly type: 'dns' | 'caa' | 'connection' | 'tls' | 'incorrectResponse' | 'unauthorized' | 'rejectedIdentifier' | 'serverInternal',
    message: string,
  ) {
    super(message);
  }
}

const reserved = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) reserved.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) reserved.addSubnet(net, prefix, 'ipv6');

/** Whether an address is private, loopback, link-local, documentation, multicast or reserved. */
export function isReservedAddress(ip: string): boolean {
  const fam = isIP(ip);
  if (fam === 4) return reserved.check(ip, 'ipv4');
  if (fam === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return reserved.check(mapped[1], 'ipv4');
    return reserved.check(ip, 'ipv6');
  }
  return true;
}

export class Resolution {
  private readonly resolver?: Resolver;

  constructor(private readonly settings: Pick<AcmeSettings, 'dnsResolver' | 'allowPrivateTargets' | 'validationTimeoutMs'>) {
    if (settings.dnsResolver) {
      this.resolver = new Resolver({ timeout: Math.min(settings.validationTimeoutMs, 5000), tries: 2 });
      this.resolver.setServers([settings.dnsResolver]);
    }
  }

  /** Refuses an address validation must not connect to. */
  guard(ip: string): void {
    if (!this.settings.allowPrivateTargets && isReservedAddress(ip)) {
      throw new ValidationError('rejectedIdentifier', `${ip} is a private or reserved address; validation does not connect to it`);
    }
  }

  /** A and AAAA addresses of `name` (IPv6 first, as Boulder tries them), each passed through the guard. */
  async addresses(name: string): Promise<string[]> {
    let v4: string[] = [];
    let v6: string[] = [];
    if (this.resolver) {
      const [a, aaaa] = await Promise.allSettled([this.resolver.resolve4(name), this.resolver.resolve6(name)]);
      if (a.status === 'fulfilled') v4 = a.value;
      if (aaaa.status === 'fulfilled') v6 = aaaa.value;
      if (!v4.length && !v6.length) {
        const err = (a.status === 'rejected' ? a.reason : aaaa.status === 'rejected' ? aaaa.reason : undefined) as NodeJS.ErrnoException | undefined;
        throw new ValidationError('dns', `no A or AAAA record for ${name}${err?.code ? ` (${err.code})` : ''}`);
      }
    } else {
      try {
        const all = await lookup(name, { all: true, verbatim: true });
        for (const r of all) (r.family === 6 ? v6 : v4).push(r.address);
      } catch (e) {
        throw new ValidationError('dns', `cannot resolve ${name} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (!v4.length && !v6.length) throw new ValidationError('dns', `no address for ${name}`);
    }
    const out = [...new Set([...v6, ...v4])];
    const allowed = out.filter((ip) => this.settings.allowPrivateTargets || !isReservedAddress(ip));
    if (!allowed.length) this.guard(out[0]);
    return allowed;
  }

  /** The CAA records at exactly `name` (RFC 8659 §4): tag, value, critical flag; [] when there are none. */
  async caa(name: string): Promise<{ critical: boolean; tag: string; value: string }[]> {
    try {
      const recs = this.resolver ? await this.resolver.resolveCaa(name) : await resolveCaa(name);
      return recs.map((r) => {
        // node:dns gives each record as { critical, <tag>: value }.
        const tag = Object.keys(r).find((k) => k !== 'critical') ?? '';
        return { critical: (r.critical & 128) !== 0, tag: tag.toLowerCase(), value: String((r as unknown as Record<string, unknown>)[tag] ?? '') };
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
      throw new ValidationError('dns', `DNS lookup of CAA ${name} failed (${code ?? 'error'}); issuance needs a CAA answer`);
    }
  }

  async txt(name: string): Promise<string[]> {
    try {
      const recs = this.resolver ? await this.resolver.resolveTxt(name) : await resolveTxt(name);
      return recs.map((chunks) => chunks.join(''));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
      throw new ValidationError('dns', `DNS lookup of TXT ${name} failed (${code ?? 'error'})`);
    }
  }
}
