"""validate --site's inputs: the folder (from quickstart/folder.py), the URL, the --event names."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

from quickstart import catalog
from quickstart.errors import InputError
from quickstart.layout import ANSWERS_FILE
from quickstart.site.model import SiteConfig


def load_site_config(folder: str | Path) -> SiteConfig:
    """What the page should have, from the one loader (quickstart/folder.py): the answers, and the
    embed URLs `apply` recorded in state.json (never a regex over a file the user may edit)."""
    from quickstart.folder import load_folder
    from quickstart.state import embed_urls_of

    loaded = load_folder(folder).require(ANSWERS_FILE)
    answers = loaded.answers
    return SiteConfig(
        folder=loaded.path,
        data_layer_path=answers.data_layer_path,
        path_segments=tuple(answers.path_segments),
        events=tuple(answers.events),
        pixel_id=answers.pixel_id,
        embed_urls=embed_urls_of(loaded.state),
    )


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--site {url!r} must be a page address starting with http:// or https://, e.g. https://example.com/")
    return url.strip()


def check_events(names: Sequence[str], config: SiteConfig) -> list[catalog.Event]:
    """The --event names as catalog events; each must be a direct-call rule of this folder."""
    if not names:
        return []
    from quickstart.answers import validate_events

    chosen: list[str] = []
    for raw in names:  # the user's order; unknown names: InputError listing the catalog
        name = validate_events([raw])[0]
        if name not in chosen:
            chosen.append(name)
    events = []
    for name in chosen:
        event = catalog.get(name)
        if event.fires_on_load:
            raise InputError(f"--event {name}: {name} fires by itself when the page loads and is always checked; "
                             "--event is for the direct-call events")
        if name not in config.events:
            raise InputError(f"--event {name}: this folder has no {name} rule; add it with "
                             f"`quickstart update {config.folder} --events ...,{name}` and apply")
        events.append(event)
    return events
