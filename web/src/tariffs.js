// Tariff listings (GET /api/v1/tariffs) for the pickers of the tariff, bill and schedule pages,
// and the price of one component in one period of a tariff file.
import { get } from './api.js';
import { t } from './i18n.js';

/** Every tariff version (presets first, then added versions in the order they were added). */
export const listTariffs = () => get('/api/v1/tariffs');

/** `id@version`, the value of a tariff picker's option. */
export const tariffKey = (s) => `${s.id}@${s.version}`;
/** Splits a picker value into `{ id, version }`. */
export function parseTariffKey(key) {
  const at = key.lastIndexOf('@');
  return { id: key.slice(0, at), version: key.slice(at + 1) };
}

/** The newest version of the tariff of `province` (e.g. `CN-ZJ`), else of the first tariff. */
export function defaultTariff(list, province) {
  const id = (list.find((s) => s.region === province) || list[0])?.id;
  return list.filter((s) => s.id === id).pop() || null;
}

/**
 * The price (yuan/kWh) of component `c` in `period`: an explicit `by_period` price, else the
 * flat price times the period's ratio for a floating component, else the flat price.
 */
export function componentPrice(c, ratios, period) {
  if (c.by_period && c.by_period[period] != null) return c.by_period[period];
  if (c.price == null) return null;
  if (!c.floats) return c.price;
  const r = ratios && ratios[period];
  return r == null ? null : c.price * r;
}

/** A component's name in the locale (known ids are translated, else the file's label). */
export function componentName(c) {
  const key = `tariffs.components.${c.name}`;
  const known = t(key);
  return known === key ? c.label || c.name : known;
}
