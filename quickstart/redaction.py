"""How secrets are kept out of what people see: one masking rule, one scrubbing rule.

Used by every client (Graph API, Reactor, IMS) on anything a server echoes back before it
reaches an error message, and by `validate --dry-run` to show the token masked.
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus

REDACTED = "(redacted)"


def mask_token(token: str | None) -> str:
    """How a token may be shown: its first four characters at most, e.g. ``EAAB…(redacted)``."""
    if not token:
        return "(none)"
    # A short value would be given away by its prefix; long Meta tokens start with a public EAA.. tag.
    prefix = token[:4] if len(token) >= 20 else ""
    return f"{prefix}…{REDACTED}"


def redact(text: str, secrets) -> str:
    """``text`` with every secret (also percent-encoded) replaced by ``(redacted)``."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, REDACTED)
    return text
