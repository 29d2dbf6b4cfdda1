"""How secrets are kept out of what people see: one masking rule, one scrubbing rule.

Used by every client (Graph API, Reactor, IMS) on anything a server echoes back before it
reaches an error message, and by `validate --dry-run` to show the token masked.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

REDACTED = "(redacted)"
_SEEN: set[str] = set()  # every secret this process read: redacted from debug tracebacks too
_SECRET_ENVS = ("META_CAPI_ACCESS_TOKEN", "ADOBE_CLIENT_SECRET")


def known_secrets() -> list[str]:
    """The secrets this process has read, and those in its environment, raw and stripped."""
    import os

    found = set(_SEEN)
    for name in _SECRET_ENVS:
        value = os.environ.get(name)
        if value:
            found.update({value, value.strip()})
    return sorted((s for s in found if s), key=len, reverse=True)


def clean_token(value: str | None, source: str) -> str | None:
    """The access token as given by `source` (a variable, stdin, a prompt, .env), normalised
    once: surrounding whitespace removed; None when empty. A space, a control character or a
    quote inside is refused (exit 2): no access token has one, and it would be sent, stored or
    redacted in a form other than the one the user meant."""
    from quickstart.errors import InputError

    if value is None:
        return None
    _SEEN.add(value)
    token = value.strip()
    if not token:
        return None
    _SEEN.add(token)
    if any(ch.isspace() or not ch.isprintable() or ch in "'\"\\" for ch in token):
        raise InputError(f"the access token from {source} has a space, a control character or a quote inside; "
                         "copy it again from Events Manager")
    return token


def mask_token(token: str | None) -> str:
    """How a token may be shown: its first four characters at most, e.g. ``EAAB…(redacted)``."""
    if not token:
        return "(none)"
    # A short value would be given away by its prefix; long Meta tokens start with a public EAA.. tag.
    prefix = token[:4] if len(token) >= 20 else ""
    return f"{prefix}…{REDACTED}"


def secret_forms(secret: str) -> list[str]:
    """Every form in which a secret can come back: raw, in either letter case, percent-encoded
    (upper- or lower-case hex, `+` for spaces or not), base64 and url-safe base64, padded or not.
    Longest first, so no form is left half replaced."""
    raw = secret.encode("utf-8")
    forms = {secret, secret.upper(), secret.lower()}
    for encoded in (quote(secret, safe=""), quote_plus(secret)):
        forms.update({encoded, encoded.lower(), encoded.upper()})
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms.update({encoded, encoded.rstrip("=")})
    return sorted(forms, key=len, reverse=True)


def redact(text: str, secrets) -> str:
    """``text`` with every secret, in every form it can come back in, replaced by ``(redacted)``."""
    for secret in secrets:
        if not secret:
            continue
        for form in secret_forms(secret):
            text = text.replace(form, REDACTED)
    return text
