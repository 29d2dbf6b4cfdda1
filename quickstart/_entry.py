"""The `quickstart` command's entry point: Ctrl-C is a quiet exit 130 from its first instruction.

Importing the CLI (click, the core) takes some 50 ms; a Ctrl-C in that time would otherwise end
with a KeyboardInterrupt traceback. Until the CLI's own handling is in place, an interrupt
exits at once with 130 (nothing has been written by then).
"""

import os
import signal


def _interrupted_while_starting(signum, frame):  # noqa: ARG001 - the signal handler's signature
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_while_starting)


def main() -> None:
    from quickstart.cli import main as cli_main

    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here the CLI says "interrupted"
    try:
        cli_main()
    except KeyboardInterrupt:  # outside a command's own handling (parsing, exiting): still quiet
        os._exit(130)
    finally:
        signal.signal(signal.SIGINT, _interrupted_while_starting)  # and while the interpreter ends
