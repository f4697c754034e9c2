// The organisation tree visible to the user, from the registry API.
import { registry } from './api.js';

/** Nodes, meters, children by parent, and the roots of the visible tree. */
export async function loadTree() {
  const r = await registry();
  const nodes = r.node || [];
  const meters = r.meter || [];
  const ids = new Set(nodes.map((n) => n.id));
  const children = {};
  const roots = [];
  for (const n of nodes) {
    if (n.parent && ids.has(n.parent)) (children[n.parent] ||= []).push(n);
    else roots.push(n);
  }
  const metersOf = {};
  for (const m of meters) (metersOf[m.node] ||= []).push(m);
  const byId = Object.fromEntries(nodes.map((n) => [n.id, n]));
  const meterById = Object.fromEntries(meters.map((m) => [m.id, m]));
  return { nodes, meters, children, roots, metersOf, byId, meterById };
}

/** The node a page starts on: the first park if there is one, else the first root. */
export function defaultNode(tree) {
  const park = tree.nodes.find((n) => n.kind === 'park');
  return (park || tree.roots[0] || {}).id;
}

/** The province (ISO 3166-2, e.g. `CN-ZJ`) of a node: its own attribute or its nearest ancestor's. */
export function provinceOf(tree, id) {
  for (let n = tree.byId[id]; n; n = tree.byId[n.parent]) if (n.attributes?.province) return n.attributes.province;
  return null;
}

/** The IANA time zone of a node: its own or its nearest ancestor's (default `Asia/Shanghai`). */
export function timezoneOf(tree, id) {
  for (let n = tree.byId[id]; n; n = tree.byId[n.parent]) if (n.timezone) return n.timezone;
  return 'Asia/Shanghai';
}

/** The first enterprise of the visible tree (where a site's battery sits), else `defaultNode`. */
export function defaultEnterprise(tree) {
  return tree.nodes.find((n) => n.kind === 'enterprise')?.id || defaultNode(tree);
}
