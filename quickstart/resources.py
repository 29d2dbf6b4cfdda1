"""Where the shipped templates and snippets live, and the one jinja2 environment that renders them."""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """``templates`` or ``snippets``: inside the installed wheel, or at the source checkout's top."""
    inside = _PACKAGE_DIR / name
    if inside.is_dir():
        return inside
    return _PACKAGE_DIR.parent / name


@functools.lru_cache(maxsize=1)
def jinja_env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(resource_dir("templates")), str(resource_dir("snippets"))]),
        bytecode_cache=_bytecode_cache(jinja2),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Keep the catalog's key order in generated JS (jinja sorts by default); still HTML-safe.
    env.policies["json.dumps_kwargs"] = {"sort_keys": False}
    env.filters["code"] = markdown_code
    return env


def markdown_code(text: str) -> str:
    """A Markdown code span that holds ``text`` whatever it contains: fenced by one backtick
    more than its longest run of backticks (CommonMark), so nothing in it is markup or HTML."""
    import re

    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _bytecode_cache(jinja2):
    """Compiled templates kept between runs (keyed by each template's source), when the cache
    folder can be made; compiling them is most of a render's cost."""
    import os

    from quickstart.settings import cache_dir

    folder = os.path.join(cache_dir(), "templates")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(folder)


def render(template: str, **context) -> str:
    return jinja_env().get_template(template).render(**context)
