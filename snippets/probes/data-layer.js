// validate --site: what is at the folder's data layer path, and where else the page keeps something
// that looks like event data. Evaluated with [path segments, marker keys].
([segments, markerKeys]) => {
  let value = window;
  for (const segment of segments) {
    if (value === null || value === undefined) { value = undefined; break; }
    value = value[segment];
  }
  const at = (value === undefined) ? {exists: false}
    : (value === null || typeof value !== 'object') ? {exists: true, kind: value === null ? 'null' : typeof value, keys: []}
    : {exists: true, kind: Array.isArray(value) ? 'array' : 'object', keys: Object.keys(value)};

  // Where else does the page keep something that looks like event data?  (A hint when the
  // configured path is empty: the site may fill another path.)  Built-ins are what a blank
  // frame's window also has.
  const frame = document.createElement('iframe');
  frame.style.display = 'none';
  document.documentElement.appendChild(frame);
  const builtin = new Set(Object.getOwnPropertyNames(frame.contentWindow));
  frame.remove();
  const skip = new Set(['_satellite', 'fbq', '_fbq', 'alloy', '__alloyNS', '__satelliteLoaded']);
  const seen = new Set();
  const found = [];
  const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  function walk(node, path, depth) {
    if (!node || typeof node !== 'object' || seen.has(node) || node === value || depth > 3) { return; }
    seen.add(node);
    let keys;
    try { keys = Object.keys(node); } catch (e) { return; }
    if (keys.length > 500) { return; }
    const score = keys.filter((k) => markerKeys.includes(k)).length;
    if (score > 0 && !path.endsWith('.conversionData')) { found.push({path: path, score: score}); }
    for (const key of keys) {
      if (!identifier.test(key)) { continue; }
      let child;
      try { child = node[key]; } catch (e) { continue; }
      walk(child, path + '.' + key, depth + 1);
    }
  }
  for (const name of Object.getOwnPropertyNames(window)) {
    if (builtin.has(name) || skip.has(name) || !identifier.test(name)) { continue; }
    let child;
    try { child = window[name]; } catch (e) { continue; }
    walk(child, 'window.' + name, 1);
  }
  found.sort((a, b) => b.score - a.score);
  at.elsewhere = found.slice(0, 3).map((f) => f.path);
  return at;
}
