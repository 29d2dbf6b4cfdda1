"""Facts that many modules share: base URLs and the variables that override them, versions, the
names quickstart gives things in Adobe, placeholders. One place each (the folder layout: layout.py)."""

from __future__ import annotations

import os

GRAPH_URL_ENV = "QUICKSTART_GRAPH_URL"
REACTOR_URL_ENV = "QUICKSTART_REACTOR_URL"
IMS_URL_ENV = "QUICKSTART_IMS_URL"

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_REACTOR_URL = "https://reactor.adobe.io"
DEFAULT_IMS_URL = "https://ims-na1.adobelogin.com"

# The Graph API version of test events: the one Adobe's Meta CAPI extension (1.7.0) sends with,
# so validate's answer is production's; `--graph-version` overrides it.
GRAPH_API_VERSION = "v22.0"

TOKEN_ENV = "META_CAPI_ACCESS_TOKEN"
PIXEL_ID_ENV = "META_PIXEL_ID"
TEST_EVENT_CODE_ENV = "META_TEST_EVENT_CODE"

DEFAULT_DATA_LAYER_PATH = "window.dataLayer.meta"
# Top-level data layers other tags push() to (Google Tag Manager, Adobe Client Data Layer): when
# missing they are created as arrays, which hold `.meta` just as well and keep push() working.
ARRAY_DATA_LAYERS = ("dataLayer", "adobeDataLayer")

# Values only `apply` can know are written as these markers until then.
PENDING_DATASTREAM_ID = "PENDING_DATASTREAM_ID"
PENDING_EMBED_URL = "https://assets.adobedtm.com/PENDING/launch-PENDING-development.min.js"
# The alloy instance's datastream id per stage (the Web SDK extension's settings).
EDGE_CONFIG_KEYS = {"development": "developmentEdgeConfigId", "staging": "stagingEdgeConfigId",
                    "production": "edgeConfigId"}

ALLOY_INSTANCE = "alloy"
TOKEN_SECRET_DATA_ELEMENT = "MetaConversion_AccessToken"
DATA_LAYER_DATA_ELEMENT = "MetaConversion_DataLayer"
RULE_PREFIX = "MetaConversion_"
SETUP_RULE = "MetaConversion_Setup"  # Library Loaded: installs the shared runtime, delivers the site queue


CACHE_DIR_ENV = "QUICKSTART_CACHE_DIR"


def cache_dir() -> str:
    """Where quickstart keeps what it can recompute (compiled templates, settings that passed
    their schemas): $QUICKSTART_CACHE_DIR, else $XDG_CACHE_HOME/quickstart or ~/.cache/quickstart."""
    return os.environ.get(CACHE_DIR_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "quickstart")


def graph_url() -> str:
    return os.environ.get(GRAPH_URL_ENV, DEFAULT_GRAPH_URL).rstrip("/")


def reactor_url() -> str:
    return os.environ.get(REACTOR_URL_ENV, DEFAULT_REACTOR_URL).rstrip("/")


def ims_url() -> str:
    return os.environ.get(IMS_URL_ENV, DEFAULT_IMS_URL).rstrip("/")

# `validate --site`: the Chromium binary (Debian's by default; QUICKSTART_CHROMIUM overrides it).
CHROMIUM_ENV = "QUICKSTART_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"

# `apply`: Adobe credentials (OAuth Server-to-Server, reference/adobe-reactor.md §1.2) and the
# Edge Network metadata service that holds datastreams (undocumented, §5; only `--create-datastream`).
ADOBE_CLIENT_ID_ENV = "ADOBE_CLIENT_ID"
ADOBE_CLIENT_SECRET_ENV = "ADOBE_CLIENT_SECRET"
ADOBE_ORG_ID_ENV = "ADOBE_ORG_ID"
ADOBE_SCOPES_ENV = "ADOBE_SCOPES"
DEFAULT_ADOBE_SCOPES = ("AdobeID,openid,read_organizations,additional_info.job_function,"
                        "additional_info.projectedProductContext,additional_info.roles")
EDGE_URL_ENV = "QUICKSTART_EDGE_URL"
DEFAULT_EDGE_URL = "https://edge.adobe.io"
EMBED_BASE_URL = "https://assets.adobedtm.com"


def edge_url() -> str:
    return os.environ.get(EDGE_URL_ENV, DEFAULT_EDGE_URL).rstrip("/")
