/* Emulations of the web extensions that are not on the npm registry (Core web 3.4.4, Meta Pixel
   1.3.2, the Web SDK's send-event), written from reference/adobe-runtime.md §2-4, never from
   their code. Each fact they rely on is pinned by a test in tests/test_engines.py. The rule
   engine that runs them is the real @adobe/reactor-turbine.

   quickstartWebExtensions(config) returns the container's `extensions` object:
   config = {pixelId, alloy: {instances}, pixelEvents: {action name: Meta event}, edgeUrl,
             externalDelayMs}. */
function quickstartWebExtensions(config) {
  var directCallTriggers = {};

  var core = {
    displayName: "Core",
    settings: {},
    modules: {
      // Direct call: _satellite.track(identifier, detail) fires the rules whose identifier
      // matches (trimmed); detail reaches the rule as event.detail.
      "core/src/lib/events/directCall.js": {
        name: "direct-call", displayName: "Direct Call",
        script: function (module) {
          window._satellite.track = function (identifier, detail) {
            var triggers = directCallTriggers[String(identifier).trim()] || [];
            for (var i = 0; i < triggers.length; i++) { triggers[i]({identifier: identifier, detail: detail}); }
          };
          module.exports = function (settings, trigger) {
            var key = String(settings.identifier).trim();
            (directCallTriggers[key] = directCallTriggers[key] || []).push(trigger);
          };
        }
      },
      // Library Loaded: fires as the library starts, in rule order.
      "core/src/lib/events/libraryLoaded.js": {
        name: "library-loaded", displayName: "Library Loaded (Page Top)",
        script: function (module) {
          module.exports = function (settings, trigger) { trigger({}); };
        }
      },
      // Custom code action: the source is a function body called with (event, target, Promise),
      // this = the event's element. Inline for Library Loaded rules; for every other rule a
      // separate script file, loaded (asynchronously) when the action runs.
      "core/src/lib/actions/customCode.js": {
        name: "custom-code", displayName: "Custom Code",
        script: function (module) {
          module.exports = function (settings, event) {
            function run() { return settings.source.call(event.element, event, event.target, Promise); }
            if (!settings.isExternal) { return Promise.resolve(run()); }
            return new Promise(function (resolve) { setTimeout(resolve, config.externalDelayMs); }).then(run);
          };
        }
      },
      // Custom code data element: the source is a function body called with (event).
      "core/src/lib/dataElements/customCode.js": {
        name: "custom-code", displayName: "Custom Code",
        script: function (module) {
          module.exports = function (settings, event) { return settings.source(event); };
        }
      },
      // JavaScript variable: a dot path from window ("window." accepted).
      "core/src/lib/dataElements/javascriptVariable.js": {
        name: "javascript-variable", displayName: "JavaScript Variable",
        script: function (module) {
          module.exports = function (settings) {
            var parts = String(settings.path).replace(/^window\./, "").split(".");
            var value = window;
            for (var i = 0; i < parts.length; i++) {
              if (value === null || value === undefined) { return undefined; }
              value = value[parts[i]];
            }
            return value;
          };
        }
      }
    }
  };

  // Meta Pixel: the shared module reuses an existing window.fbq (else makes Meta's stub), loads
  // fbevents.js and calls init once, as the library starts; nothing else (no LDU option).
  var pixelModules = {
    "facebook-pixel/src/lib/helpers/getFbQueue.js": {
      name: "get-fb-queue", displayName: "fbq",
      script: function (module, exports, require, turbine) {
        if (!window.fbq) {
          var n = window.fbq = function () { n.callMethod ? n.callMethod.apply(n, arguments) : n.queue.push(arguments); };
          if (!window._fbq) { window._fbq = n; }
          n.push = n; n.loaded = true; n.version = "2.0"; n.queue = [];
        }
        var script = document.createElement("script");
        script.async = true;
        script.src = "https://connect.facebook.net/en_US/fbevents.js";
        document.head.appendChild(script);
        window.fbq("init", turbine.getExtensionSettings().pixelId, {}, {agent: "adobe_launch"});
        module.exports = window.fbq;
      }
    }
  };
  // Every standard-event action: fbq("track", Event, settings, extra); a setting event_id
  // leaves the custom data and becomes extra.eventID.
  Object.keys(config.pixelEvents).forEach(function (action) {
    var eventName = config.pixelEvents[action];
    pixelModules["facebook-pixel/src/lib/actions/" + action + ".js"] = {
      name: action, displayName: action,
      script: function (module, exports, require) {
        var fbq = require("../helpers/getFbQueue.js");
        module.exports = function (settings) {
          var extra = {};
          if (settings && settings.event_id) { extra.eventID = settings.event_id; delete settings.event_id; }
          fbq("track", eventName, settings, extra);
        };
      }
    };
  });

  // Web SDK send-event: data is copied (JSON round trip) when the action runs and POSTed to the
  // Edge Network with the environment's datastream id.
  var alloyModules = {
    "adobe-alloy/dist/lib/actions/sendEvent/index.js": {
      name: "send-event", displayName: "Send event",
      script: function (module, exports, require, turbine) {
        module.exports = function (settings) {
          var instance = turbine.getExtensionSettings().instances[0];
          var stage = turbine.environment && turbine.environment.stage;
          var configId = (stage === "development" && instance.developmentEdgeConfigId) ||
                         (stage === "staging" && instance.stagingEdgeConfigId) || instance.edgeConfigId;
          var data = settings.data === undefined ? undefined : JSON.parse(JSON.stringify(settings.data));
          var body = {events: [{xdm: {eventType: "web.webpagedetails.pageViews", timestamp: new Date().toISOString(),
                                      web: {webPageDetails: {URL: location.href}}}, data: data}]};
          return fetch(config.edgeUrl + "?configId=" + encodeURIComponent(configId),
                       {method: "POST", body: JSON.stringify(body), keepalive: true});
        };
      }
    }
  };

  return {
    core: core,
    "facebook-pixel": {displayName: "Meta Pixel", settings: {pixelId: config.pixelId}, modules: pixelModules},
    "adobe-alloy": {displayName: "Adobe Experience Platform Web SDK", settings: config.alloy, modules: alloyModules}
  };
}
