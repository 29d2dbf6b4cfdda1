"""Adobe IMS, OAuth Server-to-Server: the access token every Reactor call carries.

``client_credentials`` at ``{ims_url}/ims/token/v3`` with form fields (reference/adobe-reactor.md
§1.2). IMS gives no refresh token, so we simply ask again shortly before the token expires.
The token and the client secret never reach a message, a log line or a file.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from quickstart import settings
from quickstart.http import json_or, send_with_retries
from quickstart.errors import InputError, RemoteError, UnreachableError
from quickstart.redaction import redact

# Renew this long before IMS says the token expires (tokens live ~24 h), or at half-life for
# short-lived ones, so a long apply never sends a token that dies in flight.
RENEW_MARGIN_SECONDS = 300.0


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str = field(repr=False)
    org_id: str
    scopes: str = settings.DEFAULT_ADOBE_SCOPES


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials:
    """Read the ADOBE_* variables; a missing one is bad input (exit 2) named in the message."""
    environ = os.environ if environ is None else environ
    names = (settings.ADOBE_CLIENT_ID_ENV, settings.ADOBE_CLIENT_SECRET_ENV, settings.ADOBE_ORG_ID_ENV)
    values = {name: (environ.get(name) or "").strip() for name in names}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise InputError(
            f"missing {', '.join(missing)}: create an OAuth Server-to-Server credential for the "
            "Experience Platform Launch API in the Adobe Developer Console and export its values")
    scopes = (environ.get(settings.ADOBE_SCOPES_ENV) or "").strip() or settings.DEFAULT_ADOBE_SCOPES
    return Credentials(
        client_id=values[settings.ADOBE_CLIENT_ID_ENV],
        client_secret=values[settings.ADOBE_CLIENT_SECRET_ENV],
        org_id=values[settings.ADOBE_ORG_ID_ENV],
        scopes=scopes,
    )


class TokenProvider:
    """A cached IMS access token, renewed before it expires; safe to share between threads."""

    def __init__(self, credentials: Credentials, session: Any, *, ims_url: str | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.credentials = credentials
        self._session = session
        self._url = (ims_url or settings.ims_url()) + "/ims/token/v3"
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the API said 401) so the next call asks IMS again."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
            "scope": self.credentials.scopes,
        }
        started = self._clock()
        # Form body, never the query string: the secret must not end up in a URL or a log.
        # Asking twice for a token does no harm, so the request counts as idempotent for retries.
        response = send_with_retries(self._session, "POST", self._url, data=form, idempotent=True, what="Adobe IMS")
        body = json_or(response, {}, dict)
        if response.status_code >= 500 or response.status_code == 429:
            raise UnreachableError(f"Adobe IMS answered {response.status_code} to every try; try again later")
        if response.status_code != 200 or not body.get("access_token"):
            reason = str(body.get("error_description") or body.get("error") or f"HTTP {response.status_code}")
            reason = redact(reason, [self.credentials.client_secret])
            raise RemoteError(
                f"Adobe IMS refused the credentials ({reason}); check ADOBE_CLIENT_ID, ADOBE_CLIENT_SECRET "
                f"and ADOBE_SCOPES against the credential in the Adobe Developer Console")
        lifetime = float(body.get("expires_in") or 86399)
        self._token = str(body["access_token"])
        self._renew_at = started + max(lifetime - RENEW_MARGIN_SECONDS, lifetime / 2)
