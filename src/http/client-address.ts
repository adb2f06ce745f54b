import { BlockList, isIP } from 'node:net';
import type { Context as HonoContext } from 'hono';

/** `::ffff:10.0.0.1` → `10.0.0.1`; strips brackets and an IPv6 zone; undefined when not an IP. */
export function normaliseIp(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  let s = ip.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (m) s = m[1];
  return isIP(s) ? s.toLowerCase() : undefined;
}

/** Validates an IP or CIDR entry; returns it as `addr/bits` (IPv4-mapped IPv6 as IPv4), or throws Error. */
export function parseCidr(entry: string): string {
  const s = entry.trim();
  const [addr, bits, ...rest] = s.split('/');
  const ip = normaliseIp(addr);
  if (!ip || rest.length) throw new Error(`"${entry}" is not an IP address or CIDR range`);
  const max = isIP(ip) === 4 ? 32 : 128;
  if (bits === undefined) return `${ip}/${max}`;
  // `::ffff:10.0.0.0/104` names the IPv4 range 10.0.0.0/8.
  const mapped = addr.trim().toLowerCase().startsWith('::ffff:') && max === 32;
  const n = Number(bits);
  if (!/^\d+$/.test(bits) || n > (mapped ? 128 : max) || (mapped && n < 96)) throw new Error(`"${entry}": prefix length must be 0-${max}`);
  return `${ip}/${mapped ? n - 96 : n}`;
}

// Lists are few and long-lived (config, a client's allow-list): compile each once.
const compiled = new WeakMap<string[], BlockList>();
const byText = new Map<string, BlockList>();

function blockList(cidrs: string[]): BlockList {
  let list = compiled.get(cidrs);
  if (list) return list;
  const key = cidrs.join(',');
  list = byText.get(key);
  if (!list) {
    list = new BlockList();
    for (const c of cidrs) {
      try {
        const [a, b] = parseCidr(c).split('/');
        list.addSubnet(a, Number(b), isIP(a) === 4 ? 'ipv4' : 'ipv6');
      } catch {
        /* a malformed entry matches nothing */
      }
    }
    if (byText.size > 1000) byText.clear();
    byText.set(key, list);
  }
  compiled.set(cidrs, list);
  return list;
}

/** Whether `ip` lies in one of the addresses or CIDR ranges (IPv4 and IPv6). */
export function ipInRanges(ip: string | undefined, cidrs: string[]): boolean {
  const addr = normaliseIp(ip);
  if (!addr || cidrs.length === 0) return false;
  return blockList(cidrs).check(addr, isIP(addr) === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address from a peer and an X-Forwarded-For value. Only a trusted proxy's word is
 * taken: from the right, each entry was written by the hop after it, so the walk stops at the first
 * entry that is not itself a trusted proxy. The leftmost entries are whatever the client sent and
 * are never believed. An entry that is not an IP ends the walk at the hop that wrote it.
 */
export function resolveClientAddress(peer: string | undefined, xff: string | undefined, trustedProxies: string[]): string | undefined {
  let addr = normaliseIp(peer);
  if (!addr || !xff || !ipInRanges(addr, trustedProxies)) return addr;
  const hops = xff.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseIp(hops[i]);
    if (!hop) return addr;
    addr = hop;
    if (!ipInRanges(hop, trustedProxies)) return hop;
  }
  return addr;
}

/**
 * The client's address for a request: the socket peer, or through trusted proxies (addresses or
 * CIDR ranges) the X-Forwarded-For walk above. `local` when there is no socket (in-process requests).
 */
export function clientAddress(c: HonoContext, trustedProxies: string[]): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const peer = env?.incoming?.socket?.remoteAddress;
  return resolveClientAddress(peer, c.req.header('x-forwarded-for'), trustedProxies) ?? 'local';
}
