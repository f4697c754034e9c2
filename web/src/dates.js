// Calendar arithmetic on local dates (y, m, d) of a time zone, and the API's date strings.

const dayFormats = new Map();
/** The local calendar date of `ms` in `timeZone`. */
export function localDate(ms, timeZone) {
  let f = dayFormats.get(timeZone);
  if (!f) dayFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const parts = f.formatToParts(new Date(ms));
  const get = (t) => Number(parts.find((p) => p.type === t).value);
  return { y: get('year'), m: get('month'), d: get('day') };
}

const pad = (n) => String(n).padStart(2, '0');
/** `YYYY-MM-DD`. */
export const iso = ({ y, m, d }) => `${y}-${pad(m)}-${pad(d)}`;
/** `YYYY-MM`. */
export const isoMonth = ({ y, m }) => `${y}-${pad(m)}`;

/** The date `n` days after `date`. */
export function addDays(date, n) {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d + n));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/** The first day of the month `n` months after the month of `date`. */
export function addMonths(date, n) {
  const t = new Date(Date.UTC(date.y, date.m - 1 + n, 1));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: 1 };
}

/** Parses `YYYY-MM-DD`. */
export function parseIso(s) {
  const [y, m, d] = s.split('-').map(Number);
  return { y, m, d };
}

/** Whole days from `a` to `b`. */
export const daysBetween = (a, b) => Math.round((Date.UTC(b.y, b.m - 1, b.d) - Date.UTC(a.y, a.m - 1, a.d)) / 86400000);
