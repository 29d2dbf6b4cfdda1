// validate --site, before the page's own scripts: watch for the site queue and the Tags library, and
// fire the first --event through the queue the moment it exists. __FIRST__ is [name, data] or null.
(() => {
  const probe = window.__quickstartProbe = {queueFirst: null, early: null};
  const first = __FIRST__;
  const libraryRan = () => !!(window._satellite && window._satellite.buildInfo);
  const timer = setInterval(() => {
    const mc = window.metaConversion;
    if (probe.queueFirst === null && mc && typeof mc.track === 'function') {
      probe.queueFirst = !libraryRan();
      if (first && probe.queueFirst) { mc.track(first[0], first[1]); probe.early = first[0]; }
    }
    if (libraryRan()) {
      if (probe.queueFirst === null) { probe.queueFirst = false; }
      clearInterval(timer);
    }
  }, 0);
  setTimeout(() => clearInterval(timer), 30000);
})();
