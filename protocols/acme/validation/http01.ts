/**
 * http-01 (RFC 8555 §8.3): GET http://<identifier>:<port>/.well-known/acme-challenge/<token>
 * on the identifier's own addresses; the body, trimmed, must be the key authorization.
 * Redirects are followed (at most 10, http or https, each target resolved and guarded).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Identifier } from '../../../src/issuance/request.ts';
import type { AcmeSettings } from '../settings.ts';
import { Resolution, ValidationError } from './resolve.ts';

const MAX_BODY = 8192;

export interface ValidationInput {
  identifier: Identifier;
  token: string;
  keyAuthorization: string;
  settings: AcmeSettings;
  resolution: Resolution;
}

export interface Evidence {
  url: string;
  hostname: string;
  port: number;
  addressesResolved?: string[];
  addressUsed?: string;
}

function get(
  url: URL,
  address: string,
  timeoutMs: number,
): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const hostHeader = url.hostname;
    const req = (isHttps ? httpsRequest : httpRequest)({
      host: address,
      port: url.port ? Number(url.port) : isHttps ? 443 : 80,
      path: url.pathname + url.search,
      method: 'GET',
      headers: { Host: hostHeader, 'User-Agent': 'Certgate-ACME-VA/1.0', Accept: '*/*', Connection: 'close' },
      agent: false,
      timeout: timeoutMs,
      ...(isHttps ? { rejectUnauthorized: false, servername: isIP(url.hostname.replace(/^\[|\]$/g, '')) ? undefined : url.hostname } : {}),
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_BODY) {
          req.destroy();
          clearTimeout(timer);
          resolve({ res, body: Buffer.concat(chunks) });
          return;
        }
        chunks.push(d);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ res, body: Buffer.concat(chunks) });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.end();
  });
}

export async function validateHttp01(v: ValidationInput): Promise<Evidence> {
  const host = v.identifier.type === 'ip' ? (v.identifier.value.includes(':') ? `[${v.identifier.value}]` : v.identifier.value) : v.identifier.value;
  const port = v.settings.http01Port;
  let url = new URL(`http://${host}${port === 80 ? '' : `:${port}`}/.well-known/acme-challenge/${v.token}`);
  const evidence: Evidence = { url: url.toString(), hostname: v.identifier.value, port };
  for (let hop = 0; hop <= 10; hop++) {
    const bare = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    if (isIP(bare)) {
      v.resolution.guard(bare);
      addresses = [bare];
    } else addresses = await v.resolution.addresses(bare);
    if (hop === 0) evidence.addressesResolved = addresses;
    let lastErr: Error | undefined;
    let got: { res: IncomingMessage; body: Buffer } | undefined;
    for (const a of addresses) {
      try {
        got = await get(url, a, v.settings.validationTimeoutMs);
        evidence.addressUsed = a;
        break;
      } catch (e) {
        lastErr = e as Error;
      }
    }
    if (!got) {
      const code = (lastErr as NodeJS.ErrnoException | undefined)?.code;
      throw new ValidationError('connection', `could not fetch ${url} from ${addresses.join(', ')}: ${code ?? lastErr?.message ?? 'error'}`);
    }
    const { res, body } = got;
    const status = res.statusCode ?? 0;
    if ([301, 302, 303, 307, 308].includes(status)) {
      const loc = res.headers.location;
      if (!loc) throw new ValidationError('connection', `redirect from ${url} without a Location`);
      let next: URL;
      try {
        next = new URL(loc, url);
      } catch {
        throw new ValidationError('connection', `redirect from ${url} to an invalid URL`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new ValidationError('connection', `redirect to unsupported scheme ${next.protocol}`);
      const p = next.port ? Number(next.port) : next.protocol === 'https:' ? 443 : 80;
      if (![80, 443, v.settings.http01Port, v.settings.tlsAlpn01Port].includes(p)) {
        throw new ValidationError('connection', `redirect to port ${p}; only 80 and 443 are followed`);
      }
      url = next;
      continue;
    }
    if (status !== 200) throw new ValidationError('unauthorized', `fetching ${url} returned HTTP ${status}`);
    const text = body.toString('utf8').trim();
    if (text !== v.keyAuthorization) {
      const shown = text.length > 100 ? `${text.slice(0, 100)}…` : text;
      throw new ValidationError('incorrectResponse', `the key authorization at ${url} is wrong: got ${JSON.stringify(shown)}`);
    }
    return evidence;
  }
  throw new ValidationError('connection', 'too many redirects');
}
