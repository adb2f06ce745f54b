/**
 * The last pass over an OpenAPI 3.0 document before it is served, so every document Certgate
 * serves (the admin API with the protocols' fragments merged in, and any protocol's own) passes a
 * validator without each fragment's author repeating the same chores. By rule, never by name:
 * - every operation gets an `operationId` (method and path, camelCase, unique in the document)
 *   unless it has one;
 * - a security requirement naming an HTTP auth scheme that the document does not define by that
 *   name (`bearer`, `basic`) is pointed at the scheme that does define it;
 * - JSON Schema's `type: "null"` (OpenAPI 3.1) becomes 3.0's `nullable: true`.
 * It returns a new document; the input is left as it was.
 */
type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export function finishOpenApi<T extends Json>(input: T): T {
  const doc = JSON.parse(JSON.stringify(input)) as Json;
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const schemes = ((doc.components as Json | undefined)?.securitySchemes ?? {}) as Record<string, Json>;
  const used = new Set<string>();
  for (const ops of Object.values(paths)) for (const m of METHODS) if (typeof ops[m]?.operationId === 'string') used.add(ops[m].operationId as string);
  for (const [path, ops] of Object.entries(paths)) {
    for (const m of METHODS) {
      const op = ops[m];
      if (!op) continue;
      if (typeof op.operationId !== 'string') op.operationId = unique(operationIdFor(m, path), used);
      if (Array.isArray(op.security)) op.security = op.security.map((req: Json) => resolveSchemes(req, schemes));
    }
  }
  if (Array.isArray(doc.security)) doc.security = doc.security.map((req: Json) => resolveSchemes(req, schemes));
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  return nullable(doc, schemas) as T;
}

/** `get /api/v1/issuers/{id}/crl` → `getIssuersByIdCrl`; the admin API's /api/v1 prefix is dropped. */
export function operationIdFor(method: string, path: string): string {
  const words = path
    .replace(/^\/api\/v1(?=\/|$)/, '')
    .split('/')
    .filter(Boolean)
    .flatMap((seg) => {
      const param = /^\{(.+)\}$/.exec(seg);
      return param ? ['by', ...split(param[1])] : split(seg);
    });
  return [method, ...words].map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1))).join('') || method;
}

function split(seg: string): string[] {
  return seg.split(/[^A-Za-z0-9]+/).filter(Boolean);
}

function unique(id: string, used: Set<string>): string {
  let out = id;
  for (let n = 2; used.has(out); n++) out = `${id}${n}`;
  used.add(out);
  return out;
}

function resolveSchemes(req: Json, schemes: Record<string, Json>): Json {
  const out: Json = {};
  for (const [name, scopes] of Object.entries(req)) {
    if (schemes[name]) {
      out[name] = scopes;
      continue;
    }
    const match = Object.entries(schemes).find(([, s]) => s.type === 'http' && String(s.scheme).toLowerCase() === name.toLowerCase());
    out[match ? match[0] : name] = scopes;
  }
  return out;
}

/** `anyOf`/`oneOf` with a `{type: "null"}` member, and `type: [T, "null"]`, as 3.0 `nullable`. */
function nullable(v: unknown, schemas: Record<string, Json>): unknown {
  if (Array.isArray(v)) return v.map((x) => nullable(x, schemas));
  if (!v || typeof v !== 'object') return v;
  const o = Object.fromEntries(Object.entries(v as Json).map(([k, x]) => [k, nullable(x, schemas)])) as Json;
  if (Array.isArray(o.type) && o.type.includes('null')) {
    const rest = (o.type as string[]).filter((t) => t !== 'null');
    o.type = rest.length === 1 ? rest[0] : rest;
    o.nullable = true;
  }
  for (const k of ['anyOf', 'oneOf'] as const) {
    const list = o[k];
    if (!Array.isArray(list) || !list.some(isNull)) continue;
    const rest = list.filter((x) => !isNull(x));
    delete o[k];
    if (rest.length === 1) {
      const only = rest[0] as Json;
      // 3.0 wants `type` beside `nullable`: the referenced schema's own (an object when it names none).
      if (only.$ref) Object.assign(o, { type: schemas[String(only.$ref).split('/').pop()!]?.type ?? 'object', allOf: [only] });
      else Object.assign(o, only);
    } else o[k] = rest;
    o.nullable = true;
  }
  return o;
}

function isNull(x: unknown): boolean {
  return !!x && typeof x === 'object' && (x as Json).type === 'null' && Object.keys(x as Json).length <= 2;
}
