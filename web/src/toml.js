// A small TOML writer for plain JSON-like objects (what the tariff form posts): top-level
// values first, then one [table] per object and one [[table]] per array element of objects;
// deeper objects are inline tables. Strings are written as TOML basic strings.

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isTableArray = (v) => Array.isArray(v) && v.length > 0 && v.every(isObject);

/** A value as TOML (inline form). */
function inline(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${v} is not a finite number`);
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  if (isObject(v)) return `{ ${entries(v).map(([k, x]) => `${key(k)} = ${inline(x)}`).join(', ')} }`;
  throw new Error(`cannot write ${typeof v} as TOML`);
}

const key = (k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));
/** Entries without undefined/null values (absent in TOML). */
const entries = (o) => Object.entries(o).filter(([, v]) => v !== undefined && v !== null);

/** Every entry of `o` as a `key = value` line (nested objects as inline tables). */
const lines = (o) => entries(o).map(([k, v]) => `${key(k)} = ${inline(v)}`);

/** `doc` as a TOML document. */
export function toToml(doc) {
  const tables = ([, v]) => isObject(v) || isTableArray(v);
  const out = lines(Object.fromEntries(entries(doc).filter((e) => !tables(e))));
  for (const [k, v] of entries(doc).filter(tables)) {
    if (isObject(v)) out.push('', `[${key(k)}]`, ...lines(v));
    else for (const item of v) out.push('', `[[${key(k)}]]`, ...lines(item));
  }
  return `${out.join('\n')}\n`;
}
