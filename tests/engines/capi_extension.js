/* Emulation of the Meta CAPI extension 1.7.0's send_capi_data action (not on the npm
   registry), written from reference/adobe-runtime.md §6, never from its code. Each fact is
   pinned by a test in tests/test_engines.py; the rule engine and Core edge modules that run
   it are the real @adobe/reactor-turbine-edge and @adobe/reactor-extension-core-edge. */
const crypto = require("crypto");

const GRAPH_VERSION = "v22.0";

// 64 alphanumeric characters count as already hashed and pass unchanged (uppercase too).
const looksHashed = (value) => typeof value === "string" && /^[0-9A-Za-z]{64}$/.test(value);

function sha256(field, value) {
  if (typeof value !== "string" && typeof value !== "number") {
    throw new Error(`The value of the "${field}" field is not a string or a number. Cannot generate a SHA-256 string.`);
  }
  if (looksHashed(value)) { return value; }
  return crypto.createHash("sha256").update(String(value), "utf8").digest("hex");
}

const keep = (fn) => (value) => (looksHashed(value) ? value : fn(value));
const lower = keep((v) => (typeof v === "string" ? v.toLowerCase() : v));
const trim = keep((v) => (typeof v === "string" ? v.trim() : v));
const digitsWithoutLeadingZeros = keep((v) => String(parseInt(String(v).replace(/\D/g, ""), 10)));
const withoutDashesAndSpaces = keep((v) => (typeof v === "string" ? v.replace(/-/g, "").replace(/ /g, "") : v));

// Its normalisation, weaker than Meta's: email lowercase + trim; phone digits only, leading
// zeros removed (an unparseable phone becomes "NaN"); names, city, state, country lowercased
// only; zip without dashes and spaces; dob, gender and external id hashed as given.
const USER_FIELDS = {
  email: ["em", (v) => sha256("Email (em)", trim(lower(v)))],
  phone: ["ph", (v) => sha256("Phone (ph)", digitsWithoutLeadingZeros(v))],
  firstName: ["fn", (v) => sha256("First Name (fn)", lower(v))],
  lastName: ["ln", (v) => sha256("Last Name (ln)", lower(v))],
  city: ["ct", (v) => sha256("City (ct)", lower(v))],
  state: ["st", (v) => sha256("State (st)", lower(v))],
  zip: ["zp", (v) => sha256("Zip (zp)", withoutDashesAndSpaces(v))],
  country: ["country", (v) => sha256("Country (country)", lower(v))],
  dob: ["db", (v) => sha256("Date of birth (db)", v)],
  gender: ["ge", (v) => sha256("Gender (ge)", v)],
  externalId: ["external_id", (v) => sha256("External ID (external_id)", v)],
};

module.exports = async ({ utils }) => {
  const extension = utils.getExtensionSettings();
  const settings = utils.getSettings();
  const userData = {
    client_ip_address: settings.clientIpAddress,   // as given, null included
    client_user_agent: settings.clientUserAgent,
  };
  for (const [field, [key, normalize]] of Object.entries(USER_FIELDS)) {
    if (settings[field]) { userData[key] = normalize(settings[field]); }  // empty (0, false, "", null): left out
  }
  for (const [field, key] of [["fbc", "fbc"], ["fbp", "fbp"]]) {
    if (settings[field]) { userData[key] = settings[field]; }
  }
  const event = {
    event_name: settings.eventName,
    event_time: settings.eventTime,                  // as given
    event_id: settings.eventId || undefined,
    event_source_url: settings.eventSourceUrl || undefined,
    action_source: settings.actionSource,
    data_processing_options: settings.lduEnabled ? ["LDU"] : [],
    data_processing_options_country: settings.lduEnabled ? 0 : undefined,
    data_processing_options_state: settings.lduEnabled ? 0 : undefined,
    user_data: userData,
  };
  let customData = settings.customData;
  if (typeof customData === "string") {
    try { customData = JSON.parse(customData); } catch (e) { customData = {}; }
  }
  if (customData && typeof customData === "object" && !Array.isArray(customData)) {
    event.custom_data = customData;                  // as resolved, nulls included
  }
  const body = {
    test_event_code: settings.isTestEvent ? settings.testEventCode : undefined,
    data: [event],
    partner_agent: "adobe_launch",
  };
  const pixelId = settings.pixelId || extension.pixelId;
  const accessToken = settings.accessToken || extension.accessToken;
  // The answer is not checked: a rejection shows only in the Edge logs.
  return utils.fetch(`https://graph.facebook.com/${GRAPH_VERSION}/${pixelId}/events/?access_token=${accessToken}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
};
