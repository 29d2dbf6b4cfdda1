"""`quickstart validate DIR --site URL`: the live page, checked in headless Chromium.

Opens the page the way a visitor does and checks, one row each: the embed code (in <head>,
async, the folder's environment URL), that Tags ran (`_satellite`), the data layer at the
configured path, the Meta Pixel, and then, per event, the two requests Meta deduplicates —
the Pixel's (facebook.com/tr, `ev` + `eid`) and the Edge Network's (`/v1/interact`, whose
body carries `conversionData.eventId`) — and that both carry the same event name and id.

Playwright is the optional extra ``.[browser]``, imported only by ``browser``, lazily. The parts:
``model``, ``inputs``, ``browser``, ``traffic`` (pure parsing), ``probes`` (the in-page JS, in
snippets/probes/), ``rows`` (one per check), ``check`` (the run).
"""

from quickstart.site.browser import INSTALL_HINT, chromium_executable, launch_browser, open_browser
from quickstart.site.check import check_site, site_ok
from quickstart.site.inputs import check_events, check_url, load_site_config
from quickstart.site.model import FAIL, PASS, SKIP, CheckRow, SiteConfig

__all__ = ["FAIL", "INSTALL_HINT", "PASS", "SKIP", "CheckRow", "SiteConfig", "check_events", "check_site", "check_url",
           "chromium_executable", "launch_browser", "load_site_config", "open_browser", "site_ok"]
