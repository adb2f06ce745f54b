/**
 * Decoded extension values remembered by their exact bytes. Most extensions repeat byte for byte
 * across the certificates of a profile and issuer (key usage, EKU, basic constraints, AKI, CRL DP,
 * AIA), so each distinct encoding is decoded once. The lint still reads what is signed: a result is
 * only ever reused for identical bytes.
 */
export function byBytes<T>(decode: (value: Uint8Array) => T, max = 256): (value: Uint8Array) => T {
  const cache = new Map<string, T>();
  return (value) => {
    const key = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
    let hit = cache.get(key);
    if (hit === undefined && !cache.has(key)) {
      hit = decode(value);
      if (cache.size >= max) cache.clear();
      cache.set(key, hit);
    }
    return hit as T;
  };
}
