// validate --site: fire one event the way snippets/data-layer.js does. Evaluated with [name, data].
([name, data]) => {
  // What snippets/data-layer.js does on the site: one call to the site API.
  if (!window.metaConversion || typeof window.metaConversion.track !== 'function') {
    return 'window.metaConversion is not defined: the site queue of the <head> snippet is missing';
  }
  try { window.metaConversion.track(name, data); return null; }
  catch (e) { return String((e && e.message) || e); }
}
