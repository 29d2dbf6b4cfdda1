"""Every extension package name and delegate descriptor id quickstart uses: one place for them.

Descriptor ids are ``<package>::<kind>::<name>`` (reference/adobe-reactor.md §3, §4); each is
checked against the real manifests in quickstart/extension_manifests/ by the tests.
"""

from __future__ import annotations

# Packages
CORE = "core"  # web and edge share the name; the platform tells them apart
ALLOY = "adobe-alloy"
PIXEL = "facebook-pixel"
CAPI = "facebook_conversions_api_extension"

# Core (web)
CUSTOM_CODE_ACTION = f"{CORE}::actions::custom-code"
DIRECT_CALL = f"{CORE}::events::direct-call"
LIBRARY_LOADED = f"{CORE}::events::library-loaded"
# Core (web and edge)
CUSTOM_CODE_ELEMENT = f"{CORE}::dataElements::custom-code"
# Core (edge)
PATH_ELEMENT = f"{CORE}::dataElements::path"
IP_ELEMENT = f"{CORE}::dataElements::ip"
SECRET_ELEMENT = f"{CORE}::dataElements::secret"
VALUE_COMPARISON = f"{CORE}::conditions::value-comparison"

# The Web SDK
ALLOY_CONFIG = f"{ALLOY}::extensionConfiguration::config"
WEB_SDK_SEND_EVENT = f"{ALLOY}::actions::send-event"

# Meta
PIXEL_CONFIG = f"{PIXEL}::extensionConfiguration::config"
PIXEL_ACTIONS = f"{PIXEL}::actions::"  # + the event's action (catalog.Event.pixel_descriptor)
CAPI_CONFIG = f"{CAPI}::extensionConfiguration::config"
SEND_CAPI_DATA = f"{CAPI}::actions::send_capi_data"
