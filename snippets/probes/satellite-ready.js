// validate --site: has the Tags library run (Turbine's _satellite.track)?
() => !!window._satellite && typeof window._satellite.track === 'function'
