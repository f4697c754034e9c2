// A small history router: the page is the first path segment, the rest are its arguments.
import { ref } from 'vue';

export const route = ref(parse());

function parse() {
  const parts = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || 'overview', args: parts.slice(1), query: new URLSearchParams(location.search) };
}

/** Goes to `path` (e.g. `/explore/ent01`). */
export function go(path) {
  if (path !== location.pathname + location.search) history.pushState(null, '', path);
  route.value = parse();
}

window.addEventListener('popstate', () => {
  route.value = parse();
});
