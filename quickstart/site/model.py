"""validate --site's data: a row of the report, what the folder says the page should have."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from quickstart import catalog
from quickstart.settings import PENDING_EMBED_URL



PASS, FAIL, SKIP = "pass", "fail", "skip"

DEFAULT_WAIT_SECONDS = 10.0  # for the library, the Pixel and the Edge requests after load
DEFAULT_LOAD_TIMEOUT_SECONDS = 30.0

# custom_data keys (and `user`) that mark an object as an event data layer when we look for
# where the site really put it.
DATA_LAYER_KEYS = sorted({*catalog.CUSTOM_DATA_SAMPLES, "user"} - {"status"})

RouteHandler = Callable[[Any], Any]


@dataclass
class CheckRow:
    name: str
    status: str  # pass | fail | skip
    why: str
    what_to_do: str = ""


@dataclass(frozen=True)
class SiteConfig:
    """What the folder says the page should have."""

    folder: Path
    data_layer_path: str
    path_segments: tuple[str, ...]
    events: tuple[str, ...]
    pixel_id: str
    embed_urls: dict[str, str]  # stage -> that environment's embed URL, as `apply` recorded it

    @property
    def embed_pending(self) -> bool:
        return not self.embed_urls

    @property
    def embed_url(self) -> str:
        return self.embed_urls.get("development") or next(iter(self.embed_urls.values()), PENDING_EMBED_URL)

    def stage_of(self, url: str) -> str | None:
        return next((stage for stage, known in self.embed_urls.items() if known == url), None)
