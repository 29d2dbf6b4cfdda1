// validate --site: the <script> that loads a Tags library (one of this folder's environments, else any
// Adobe launch-*.js): where it is, whether it is async. Evaluated with the expected URLs.
(expected) => {
  const scripts = Array.from(document.querySelectorAll('script[src]'));
  const absolute = (u) => { try { return new URL(u, location.href).href; } catch (e) { return u; } };
  const want = expected.map(absolute);
  let script = scripts.find((s) => want.includes(absolute(s.getAttribute('src'))));
  const exact = !!script;
  if (!script) {
    script = scripts.find((s) => /^https?:\/\/assets\.adobedtm\.com\//i.test(s.src)
                             || /\/launch-[^\/]*\.js(\?|$)/i.test(s.src));
  }
  if (!script) { return null; }
  return {src: script.src, exact: exact, inHead: document.head.contains(script), async: script.async};
}
