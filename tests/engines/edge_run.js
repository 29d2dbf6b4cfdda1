/* Runs an event forwarding property (event-forwarding.yaml, as JSON on stdin) in the real
   @adobe/reactor-turbine-edge, with the real Core edge modules and the Meta CAPI emulation.

   stdin:  {property, environment, secrets: {secret id: value}, requests: [arc request data]}
   stdout: {runs: [{rules: [{name, status, error}], fetches: [{url, method, body}]}]}

   What Adobe's build does to a property and what we do the same way here: data elements and
   rule components become modules with getSettings(context); a {{Name}} that is a whole
   setting keeps its value's type, one inside text is concatenated as a string
   (reference/adobe-runtime.md §5); custom code `source` becomes a function (arc, utils). */
const path = require("path");
const turbine = require("@adobe/reactor-turbine-edge/src/index.js");

const CORE_EDGE = path.dirname(require.resolve("@adobe/reactor-extension-core-edge/package.json"));
const core = (kind, file) => require(path.join(CORE_EDGE, "src/lib", kind, file));

const MODULES = {
  "core::dataElements::path": ["core/src/lib/dataElements/path.js", core("dataElements", "path.js")],
  "core::dataElements::ip": ["core/src/lib/dataElements/ip.js", core("dataElements", "ip.js")],
  "core::dataElements::secret": ["core/src/lib/dataElements/secret.js", core("dataElements", "secret.js")],
  "core::dataElements::custom-code": ["core/src/lib/dataElements/customCode.js", core("dataElements", "customCode.js")],
  "core::conditions::value-comparison": ["core/src/lib/conditions/valueComparison.js", core("conditions", "valueComparison.js")],
  "core::conditions::custom-code": ["core/src/lib/conditions/customCode.js", core("conditions", "customCode.js")],
  "core::actions::custom-code": ["core/src/lib/actions/customCode.js", core("actions", "customCode.js")],
  "facebook_conversions_api_extension::actions::send_capi_data": [
    "facebook_conversions_api_extension/src/lib/actions/sendCapiData.js", require("./capi_extension.js")],
};
const TOKEN = /\{\{([^}]+)\}\}/g;

function tokensIn(value, found) {
  if (typeof value === "string") { for (const m of value.matchAll(TOKEN)) { found.add(m[1].trim()); } }
  else if (Array.isArray(value)) { value.forEach((v) => tokensIn(v, found)); }
  else if (value && typeof value === "object") { Object.values(value).forEach((v) => tokensIn(v, found)); }
  return found;
}

function substitute(value, get) {
  if (typeof value === "string") {
    const whole = /^\{\{([^}]+)\}\}$/.exec(value);
    if (whole) { return get(whole[1].trim()); }
    const pieces = [];
    let rest = value;
    let match;
    while ((match = /\{\{([^}]+)\}\}/.exec(rest)) !== null) {
      if (match.index) { pieces.push(rest.slice(0, match.index)); }
      pieces.push(get(match[1].trim()));
      rest = rest.slice(match.index + match[0].length);
    }
    if (rest) { pieces.push(rest); }
    return pieces.reduce((a, b) => a + b);
  }
  if (Array.isArray(value)) { return value.map((v) => substitute(v, get)); }
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) { out[k] = substitute(v, get); }
    return out;
  }
  return value;
}

function settingsGetter(settings, descriptor, getDataElementValues) {
  const functional = { ...(settings || {}) };
  if (descriptor.endsWith("custom-code") && typeof functional.source === "string") {
    functional.source = new Function("arc", "utils", functional.source); // eslint-disable-line no-new-func
  }
  const tokens = [...tokensIn(settings || {}, new Set())];
  return (context) => getDataElementValues(tokens, context).then((get) => {
    const resolved = substitute(functional, get);
    if (functional.source) { resolved.source = functional.source; }
    return resolved;
  });
}

function moduleFor(descriptor) {
  const entry = MODULES[descriptor];
  if (!entry) { throw new Error(`no module for ${descriptor}`); }
  return entry[0];
}

async function main() {
  const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const property = input.property;
  const fetches = [];
  const fetch = async (url, init) => {
    fetches.push({ url: String(url), method: init.method, body: init.body });
    return new Response(JSON.stringify({ events_received: 1, fbtrace_id: "edge-harness" }), { status: 200 });
  };
  const run = turbine.initialize((getDataElementValues) => {
    const modules = {};
    for (const [descriptor, [modulePath, script]] of Object.entries(MODULES)) {
      modules[modulePath] = { extensionName: modulePath.split("/")[0], displayName: descriptor, script };
    }
    const extensions = {};
    for (const ext of property.extensions) {
      extensions[ext.package] = {
        displayName: ext.package,
        getSettings: settingsGetter(ext.settings || {}, ext.delegate_descriptor_id || "", getDataElementValues),
      };
    }
    const dataElements = {};
    for (const element of property.data_elements) {
      dataElements[element.name] = {
        modulePath: moduleFor(element.delegate_descriptor_id),
        getSettings: settingsGetter(element.settings, element.delegate_descriptor_id, getDataElementValues),
      };
    }
    const rules = property.rules.map((rule, index) => {
      const components = [...rule.components].map((c, position) => ({ c, position }))
        .sort((a, b) => (a.c.order || 0) - (b.c.order || 0) || a.position - b.position).map((x) => x.c);
      const delegate = (c) => ({
        modulePath: moduleFor(c.delegate_descriptor_id),
        negate: Boolean(c.negate),
        getSettings: settingsGetter(c.settings, c.delegate_descriptor_id, getDataElementValues),
      });
      return {
        id: `RL${index}`,
        name: rule.name,
        conditions: components.filter((c) => c.delegate_descriptor_id.includes("::conditions::")).map(delegate),
        actions: components.filter((c) => c.delegate_descriptor_id.includes("::actions::")).map(delegate),
      };
    });
    return { modules, extensions, dataElements, rules, buildInfo: { environment: input.environment, turbineVersion: "3.0.1" } };
  }, { fetch });

  const runs = [];
  for (const request of input.requests) {
    fetches.length = 0;
    const results = await run(request, input.secrets || {});
    runs.push({
      rules: results.map((r) => ({
        name: property.rules[Number(r.ruleId.slice(2))].name,
        status: r.status,
        errors: (r.logs || []).filter((l) => l.attributes && l.attributes.logLevel === "error")
          .map((l) => l.messages.slice(1).join(" ")),
      })),
      fetches: [...fetches],
    });
  }
  // turbine-edge leaves each module's 30 s timeout timer running: exit once the output is out.
  process.stdout.write(JSON.stringify({ runs }), () => process.exit(0));
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
