"""The folder's ``.env`` and the secrets found through it: one way for validate and apply.

A secret comes from the environment variable of its name, else from that name in the folder's
``.env`` (python-dotenv's reading: quotes, ``export``, comments; never ``${VAR}`` expansion).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from quickstart.layout import ENV_FILE
from quickstart.settings import TOKEN_ENV


def read_env_file(folder: str | Path) -> dict[str, str]:
    """The folder's .env as python-dotenv reads it; {} when there is none or it cannot be read."""
    path = Path(folder) / ENV_FILE
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    try:
        # Literal values: a token is never a template (no ${VAR} expansion).
        return {key: value for key, value in dotenv_values(path, interpolate=False).items() if value is not None}
    except (OSError, UnicodeDecodeError):
        return {}


def resolve_secret(folder: str | Path, name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """``name`` from the environment, else from the folder's .env, normalised (None when absent)."""
    from quickstart.redaction import clean_token

    environ = os.environ if environ is None else environ
    return (clean_token(environ.get(name), name)
            or clean_token(read_env_file(folder).get(name), str(Path(folder) / ENV_FILE)))


def resolve_token(folder: str | Path, environ: Mapping[str, str] | None = None) -> str | None:
    """The Conversions API access token (META_CAPI_ACCESS_TOKEN), from the environment or .env."""
    return resolve_secret(folder, TOKEN_ENV, environ)
