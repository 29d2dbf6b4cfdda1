"""How secrets are kept out of what people see: one masking rule, one scrubbing rule.

Used by every client (Graph API, Reactor, IMS) on anything a server echoes back before it
reaches an error message, and by `validate --dry-run` to show the token masked.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

REDACTED = "(redacted)"


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
