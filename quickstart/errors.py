"""Error classes and exit codes: one place for both.

Every error a user can meet is a ``QuickstartError`` subclass whose message says what to do
next; ``cli.py`` turns it into one line on stderr and its ``exit_code``.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2  # bad usage or input
    REJECTED = 3  # events rejected or checks failed
    UNREACHABLE = 4  # remote service unreachable
    WOULD_CHANGE = 5  # a preview (apply --plan, update --dry-run) found something to change
    INTERRUPTED = 130


class QuickstartError(Exception):
    """Base of every error quickstart reports to a person."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(QuickstartError):
    """An answer, flag or file the user gave is not valid."""

    exit_code = ExitCode.USAGE


class MissingAnswersError(InputError):
    """Required answers are missing and there is no terminal to ask them on."""


class ConflictError(QuickstartError):
    """Files the user edited could not be merged with the new render (the rest was written)."""

    exit_code = ExitCode.ERROR


class RefusedError(QuickstartError):
    """A gate refused before any change (a publish out of Adobe's order, a stale saved plan)."""

    exit_code = ExitCode.USAGE


class ChecksFailedError(QuickstartError):
    """Static checks found problems, or Meta rejected the events."""

    exit_code = ExitCode.REJECTED


class RemoteError(QuickstartError):
    """A remote service answered with an error a person has to fix."""

    exit_code = ExitCode.ERROR


class UnreachableError(QuickstartError):
    """A remote service could not be reached (network, DNS, timeout, repeated 5xx)."""

    exit_code = ExitCode.UNREACHABLE
