"""The command line: parse, call the core, map errors to exit codes. Nothing else lives here.

Heavy modules (questionary, requests, playwright) are imported inside the commands that need
them, so ``quickstart --help`` stays fast. Over 400 lines on purpose: one click command per step
of the workflow, and their options and help text (with examples) are most of it.
"""

from __future__ import annotations
import json
import os
import sys
from pathlib import Path

import click

from quickstart import __version__
from quickstart.errors import ExitCode, InputError, QuickstartError
from quickstart.settings import PIXEL_ID_ENV, TEST_EVENT_CODE_ENV, TOKEN_ENV

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


WORKFLOW = ("init", "validate", "apply", "publish", "update", "completion")
BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell tool ends with when its reader goes away


class QuickstartGroup(click.Group):
    """Turns every error into one line on stderr (JSON on stdout with --json) and its exit code;
    never a traceback. Lists the commands in the order of the workflow."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        return [n for n in WORKFLOW if n in names] + [n for n in names if n not in WORKFLOW]

    def invoke(self, ctx: click.Context):
        as_json = "--json" in _command_args(ctx)
        try:
            return super().invoke(ctx)
        except QuickstartError as exc:
            _fail(exc.message, int(exc.exit_code), type(exc).__name__, as_json)
        except (KeyboardInterrupt, click.exceptions.Abort, EOFError):
            click.echo("", err=True)
            _fail("interrupted; nothing was written", int(ExitCode.INTERRUPTED), "Interrupted", as_json)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except click.exceptions.Exit:
            raise
        except click.ClickException as exc:
            if not as_json:
                raise
            _fail(exc.format_message(), exc.exit_code, type(exc).__name__, as_json)
        except OSError as exc:  # disk full, permissions, a file where a folder should be
            where = f": {exc.filename}" if exc.filename else ""
            _fail(f"{exc.strerror or type(exc).__name__}{where}", int(ExitCode.ERROR), "OSError", as_json)
        except Exception as exc:
            if os.environ.get("QUICKSTART_DEBUG"):
                # The whole traceback, for a bug report, with every secret redacted from it.
                import traceback

                from quickstart.redaction import known_secrets, redact

                text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                click.echo(redact(text, known_secrets()), err=True, nl=False)
                raise click.exceptions.Exit(int(ExitCode.ERROR)) from None
            # The message of an unexpected error may hold anything (even a token): name the type
            # and where it happened only.
            _fail(f"unexpected {type(exc).__name__} in {_where(exc)}; rerun with QUICKSTART_DEBUG=1 for details",
                  int(ExitCode.ERROR), type(exc).__name__, as_json)


def _command_args(ctx: click.Context) -> list[str]:
    """The words after `quickstart` (the command and its arguments), before they are parsed."""
    import warnings

    with warnings.catch_warnings():  # click 8.2 renamed the list; both spellings hold the same words
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def _fail(message: str, code: int, kind: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": {"type": kind, "message": message}, "exit_code": code}, indent=2))
    else:
        click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code) from None


def _where(exc: BaseException) -> str:
    """The innermost quickstart module the error passed through (never its message)."""
    import traceback

    modules = [frame.filename for frame in traceback.extract_tb(exc.__traceback__)]
    ours = [name for name in modules if f"{os.sep}quickstart{os.sep}" in name]
    path = (ours or modules or ["?"])[-1]
    if f"{os.sep}quickstart{os.sep}" in path:
        path = "quickstart" + path.rsplit(f"{os.sep}quickstart", 1)[1]
    return path.removesuffix(".py").replace(os.sep, ".")


def _quiet_broken_pipe() -> None:
    """The reader of stdout went away (`quickstart ... | head -1`): stop quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise click.exceptions.Exit(BROKEN_PIPE)


@click.group(cls=QuickstartGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="quickstart")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR set, or output to a pipe).")
def cli(no_color: bool) -> None:
    """Set up Meta Pixel + Meta Conversions API through Adobe Experience Platform.

    \b
      quickstart init example.com        # answers -> ./example.com/ with every artifact
      quickstart validate example.com    # static checks + test events at Meta's CAPI
      quickstart apply example.com       # create it all in Adobe (development) through the Reactor API
      quickstart validate example.com --site https://test.example.com   # a page, in a browser
      quickstart publish example.com --to staging      # then --to production

    FOLDER defaults to the current folder when it holds a quickstart.yaml. Each command has its
    own --help with examples; `quickstart completion bash|zsh|fish` prints a completion script.
    """
    if no_color:
        os.environ["NO_COLOR"] = "1"


# ---------------------------------------------------------------------------------------------
# Shared options (defined once, reused by decorator)

def _complete_events(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion of event names; for --events, of the last name after a comma."""
    from click.shell_completion import CompletionItem

    from quickstart.catalog import EVENT_NAMES

    done, _, last = incomplete.rpartition(",")
    prefix = done + "," if done else ""
    return [CompletionItem(prefix + name) for name in EVENT_NAMES if name.lower().startswith(last.lower())]


def _answer_options(func=None, *, from_environment: bool = True):
    """The flags for every answer of DESIGN §2 (init and update share them). Environment
    variables are defaults for `init` only: `update` changes only what a flag says."""
    if func is None:
        return lambda f: _answer_options(f, from_environment=from_environment)

    def env(name: str) -> dict:
        return {"envvar": name, "show_envvar": True} if from_environment else {}

    options = [
        click.option("--pixel-id", **env(PIXEL_ID_ENV), help="Meta Pixel (dataset) ID, digits only."),
        click.option("--data-layer-path", help="Where the site puts event data. [default: window.dataLayer.meta]"),
        click.option("--events", shell_complete=_complete_events,
                     help="Comma-separated Meta events, e.g. PageView,AddToCart,Purchase. [default: all 18]"),
        click.option("--test-event-code", **env(TEST_EVENT_CODE_ENV), help="Code from Events Manager > Test Events (letters and digits)."),
        click.option("--ldu/--no-ldu", default=None, help="Send Meta's Limited Data Use flag with every CAPI event. [default: off]"),
        click.option("--default-country", help="ISO country code (e.g. US) for customers' national phone numbers "
                                               "without a country code; without it the browser leaves such numbers out."),
        click.option("--datastream-id", help="The Adobe datastream id, if it exists already (else `apply` sets it); "
                                             "every stage uses it unless given its own below."),
        click.option("--staging-datastream-id", help="The staging environment's own datastream id."),
        click.option("--production-datastream-id", help="The production environment's own datastream id (recommended: "
                                                        "it forwards to the production event forwarding environment)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _flag_values(**kwargs) -> dict:
    """Answer values given on the command line, without the ones left out."""
    return {key: value for key, value in kwargs.items() if value is not None}


def _read_token_from_stdin() -> str:
    from quickstart.redaction import clean_token

    token = clean_token(sys.stdin.readline(), "stdin")
    if not token:
        raise InputError("--token-stdin was given but stdin was empty; pipe the token in, e.g. `pass meta/capi | quickstart init ... --token-stdin`")
    return token


def _write_options(func):
    """What init and update share about writing the folder."""
    options = [
        click.option("--force", is_flag=True,
                     help="Overwrite files you edited instead of merging (a backup goes to .quickstart/backup/)."),
        click.option("--dry-run", is_flag=True, help="Show what would change; write nothing (exit 5 if something would)."),
        click.option("--diff", "show_diff", is_flag=True,
                     help="Show a unified diff of every file that changes (also with --dry-run)."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (errors too)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _folder_argument(func):
    """FOLDER, defaulting to the current folder (terraform, copier)."""
    return click.argument("folder", required=False, default=".", type=click.Path(file_okay=False))(func)


def _quickstart_folder(folder: str) -> str:
    """``folder`` when it is a quickstart folder; else one line naming the likely one, exit 2."""
    from quickstart.layout import ANSWERS_FILE

    path = Path(folder)
    if (path / ANSWERS_FILE).is_file():
        return folder
    shown = f"'{folder}'"
    if not path.exists():
        raise InputError(f"{shown} does not exist")
    if not path.is_dir():
        raise InputError(f"{shown} is not a folder")
    candidates = sorted(child.name for child in path.iterdir() if (child / ANSWERS_FILE).is_file()) if path.is_dir() else []
    hint = f"; did you mean {os.path.join(folder, candidates[0]) if folder != '.' else './' + candidates[0]}?" if candidates else \
        "; create one with `quickstart init DOMAIN`"
    raise InputError(f"{shown} is not a quickstart folder (no {ANSWERS_FILE}){hint}")


def _interactive() -> bool:
    # QUICKSTART_FORCE_TTY lets tests drive the wizard through prompt_toolkit's pipe input.
    if os.environ.get("QUICKSTART_FORCE_TTY") == "1":
        return True
    return sys.stdin.isatty() and sys.stdout.isatty()


# ---------------------------------------------------------------------------------------------
# init / update


@cli.command(short_help="Write the folder for DOMAIN (asks what is missing).")
@click.argument("domain", required=False)
@_answer_options
@click.option("-o", "--output", type=click.Path(file_okay=False), help="Output folder. [default: ./<domain>]")
@click.option("--answers", "answers_file", type=click.Path(dir_okay=False), help="Replay a quickstart.yaml (flags override it).")
@click.option("-y", "--yes", is_flag=True, help="Accept defaults; never prompt.")
@click.option("--token-stdin", is_flag=True, help="Read the CAPI access token from stdin.")
@click.option("--store-token", is_flag=True, help="Store the token in <folder>/.env (mode 0600, gitignored).")
@_write_options
@click.option("--validate", "run_validation", is_flag=True, help="Fire the test events at Meta when done (needs token and test event code).")
def init(domain, pixel_id, data_layer_path, events, test_event_code, ldu, default_country, datastream_id,
         staging_datastream_id, production_datastream_id, output,
         answers_file, yes, token_stdin, store_token, force, dry_run, show_diff, as_json, run_validation):
    """Write the folder with every artifact for DOMAIN.

    Asks for what is missing when run in a terminal; otherwise takes flags and fails with the
    names of the missing ones. On a folder made before, it starts from that folder's
    quickstart.yaml (flags override it; the wizard offers its values). The environment
    variables shown below are defaults for init only. The access token is never a flag: it
    comes from META_CAPI_ACCESS_TOKEN, --token-stdin, or a hidden prompt.

    \b
    Examples:
      quickstart init example.com
      quickstart init example.com --pixel-id 1234567890 --yes
      quickstart init shop.example.com --pixel-id 1234567890 --events PageView,AddToCart,Purchase \\
          --test-event-code TEST12345 --data-layer-path window.digitalData.meta --yes
      echo "$TOKEN" | quickstart init example.com --pixel-id 1234567890 --token-stdin --store-token --yes
      quickstart init example.com --dry-run --diff     # what a re-init would change
    """
    from quickstart import answers as answers_mod
    from quickstart import render
    from quickstart.output import format_next_steps

    given = _flag_values(domain=domain, pixel_id=pixel_id, data_layer_path=data_layer_path, events=events,
                         test_event_code=test_event_code, ldu=ldu, default_country=default_country,
                         datastream_id=datastream_id, staging_datastream_id=staging_datastream_id,
                         production_datastream_id=production_datastream_id)
    answers_mod.check_values(given)  # bad input: one line, exit 2, before anything is asked or written
    notes: list[str] = []
    stored = _stored_answers(output or given.get("domain"))  # a folder made before: start from its answers
    replayed = answers_mod.load_answers_file(answers_file) if answers_file else {}
    if replayed:
        replayed, note = answers_mod.drop_site_bound(replayed, given.get("domain") or (stored or {}).get("domain"))
        notes += [note] if note else []
    values = answers_mod.merge(answers_mod.merge(stored or {}, replayed), given)
    answers_mod.check_values(values)

    from quickstart.redaction import clean_token

    token = _read_token_from_stdin() if token_stdin else clean_token(os.environ.get(TOKEN_ENV), TOKEN_ENV)
    missing = answers_mod.missing_required(values)
    interactive = _interactive() and not token_stdin and not as_json
    wizard_result = None
    if interactive and (missing or not yes):
        from quickstart import wizard

        # Asked: what neither a flag nor --answers gave; offered as defaults: what the folder holds.
        wizard_result = wizard.ask(answers_mod.merge(replayed, given), ask_optional=not yes,
                                   token_known=token is not None, defaults=stored or {})
        values, token = answers_mod.merge(values, wizard_result.values), wizard_result.token or token
        store_token = store_token or wizard_result.store_token
    elif missing:
        raise answers_mod.missing_answers_error(missing)

    answers = answers_mod.Answers.from_values(values)
    target = output or answers.domain
    if store_token and not token:
        raise InputError("--store-token needs a token: set META_CAPI_ACCESS_TOKEN or use --token-stdin")
    if run_validation and not answers.test_event_code:
        raise InputError("--validate needs a test event code (--test-event-code or META_TEST_EVENT_CODE): "
                         "Meta counts events without one as real")
    if run_validation and not token and not interactive:
        raise InputError("--validate needs the access token: set META_CAPI_ACCESS_TOKEN or use --token-stdin")
    result = render.write_folder(target, answers, token=token if store_token else None, force=force, dry_run=dry_run)
    _show_write(result, as_json, show_diff, notes=notes,
                next_steps=None if dry_run else format_next_steps(result.folder, answers, token_known=token is not None))
    if dry_run:
        raise click.exceptions.Exit(int(ExitCode.WOULD_CHANGE if result.would_change else ExitCode.OK))

    wants_validation = run_validation or (wizard_result is not None and wizard_result.validate_now)
    if wants_validation:
        _fire_test_events(result.folder, token)


def _stored_answers(target: str | None) -> dict | None:
    """The answers of the quickstart folder at ``target``, if there is one."""
    from quickstart.layout import ANSWERS_FILE

    if not target or not (Path(target) / ANSWERS_FILE).is_file():
        return None
    from quickstart import answers as answers_mod

    return answers_mod.check_values(answers_mod.load_answers_file(Path(target) / ANSWERS_FILE))


def _show_write(result, as_json: bool, show_diff: bool, *, notes: list[str] = (), next_steps: str | None = None) -> None:
    """The per-file table (or JSON), the diffs, the notes; an error line and exit 1 on conflicts."""
    from quickstart import output

    if as_json:
        data = result.to_dict()
        data["notes"] = list(notes)
        if show_diff:
            data["diffs"] = {f.path: f.diff for f in result.files if f.diff}
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(output.format_write_result(result, colour=output.colour_enabled(), show_diff=show_diff))
        for note in notes:
            click.echo(f"note: {note}")
        if next_steps and not result.conflicts:
            click.echo(next_steps)
    if result.conflicts and not result.dry_run:
        from quickstart.errors import ConflictError

        raise ConflictError(output.conflict_message(result))


@cli.command(short_help="Re-render FOLDER, merging your edits.")
@_folder_argument
@_answer_options(from_environment=False)
@click.option("--token-stdin", is_flag=True, help="Read the CAPI access token from stdin (with --store-token).")
@click.option("--store-token", is_flag=True, help="Store the token (META_CAPI_ACCESS_TOKEN or --token-stdin) in FOLDER/.env, mode 0600.")
@_write_options
def update(folder, pixel_id, data_layer_path, events, test_event_code, ldu, default_country, datastream_id,
           staging_datastream_id, production_datastream_id, token_stdin, store_token, force, dry_run, show_diff, as_json):
    """Re-render FOLDER from its quickstart.yaml, with a status per file.

    Change an answer by editing quickstart.yaml or with a flag (the flag is saved into
    quickstart.yaml, keeping its comments); environment variables change nothing here. Every
    file is written that can be: a file you edited is merged with the new render three ways
    (merged), keeps your edit when the render did not change it (kept), and gets conflict
    markers only where you and the render changed the same lines (conflict: exit 1, your copy
    saved under .quickstart/backup/). --force overwrites your edits instead.

    \b
    Examples:
      quickstart update example.com
      quickstart update example.com --events PageView,Purchase,Lead
      quickstart update --dry-run --diff                 # in the folder itself
      echo "$TOKEN" | quickstart update example.com --store-token --token-stdin
    """
    from quickstart import answers as answers_mod
    from quickstart import render

    folder = _quickstart_folder(folder)
    given = _flag_values(pixel_id=pixel_id, data_layer_path=data_layer_path, events=events,
                         test_event_code=test_event_code, ldu=ldu, default_country=default_country,
                         datastream_id=datastream_id, staging_datastream_id=staging_datastream_id,
                         production_datastream_id=production_datastream_id)
    answers_mod.check_values(given)
    token = None
    if store_token:
        from quickstart.redaction import clean_token

        token = _read_token_from_stdin() if token_stdin else clean_token(os.environ.get(TOKEN_ENV), TOKEN_ENV)
        if not token:
            raise InputError("--store-token needs a token: set META_CAPI_ACCESS_TOKEN or use --token-stdin")
    elif token_stdin:
        raise InputError("--token-stdin is for --store-token")
    base = answers_mod.load_answers_file(os.path.join(folder, "quickstart.yaml"))
    values = answers_mod.merge(base, given)
    answers_mod.check_values(values)
    missing = answers_mod.missing_required(values)
    if missing:
        raise answers_mod.missing_answers_error(missing)
    answers = answers_mod.Answers.from_values(values)
    result = render.write_folder(folder, answers, token=token, force=force, dry_run=dry_run)
    _show_write(result, as_json, show_diff)
    if dry_run and result.would_change:
        raise click.exceptions.Exit(int(ExitCode.WOULD_CHANGE))


def _fire_test_events(folder: str, token: str | None) -> None:
    """init's last step: the seed's flow, set up then validate."""
    _run_validate(str(folder), token=token)


# ---------------------------------------------------------------------------------------------
# validate


@cli.command(short_help="Check FOLDER and send its test events to Meta.")
@_folder_argument
@click.option("--site", metavar="URL", help="Check the live page in headless Chromium (needs pip install '.[browser]').")
@click.option("--event", "site_events", multiple=True, metavar="NAME", shell_complete=_complete_events, help="Only this event's test event (repeatable). With --site: fill sample data and fire it on the page; on a live site that sends a real sample event to Meta unless the folder has a test event code.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--dry-run", is_flag=True, help="Print the exact requests (token masked); send nothing.")
@click.option("--static-only", is_flag=True, help="Only check the files; no test events, no network.")
@click.option("--allow-live", is_flag=True, help="Send even without a test event code (Meta counts them as real events).")
@click.option("--graph-version", default=None, metavar="VERSION", help="Graph API version, e.g. v25.0. [default: v22.0, the one Adobe's CAPI extension sends with]")
@click.option("--default-country", default=None, metavar="CC", help="Country for national phone numbers in the sample data. [default: the folder's default_country]")
def validate(folder, site, site_events, as_json, dry_run, static_only, allow_live, graph_version, default_country):
    """Check FOLDER, then fire test events at Meta's Conversions API.

    Static checks first (every chosen event has its rule on both sides, the Pixel and CAPI
    share conversionData.eventId, settings match the extension schemas); then one test event
    per chosen event, in one request, with the folder's test event code. The token comes from
    META_CAPI_ACCESS_TOKEN, the folder's .env, or a hidden prompt, and is never printed.
    Exit codes: 0 accepted, 3 rejected or checks failed, 4 Meta unreachable.

    \b
    Examples:
      quickstart validate example.com
      quickstart validate example.com --static-only
      quickstart validate example.com --dry-run --json
      quickstart validate example.com --site https://example.com --event Purchase
    """
    folder = _quickstart_folder(folder)
    if site:
        from quickstart import output
        from quickstart import site as site_mod

        rows = site_mod.check_site(folder, site, list(site_events))
        click.echo(output.site_rows_json(rows, site, folder) if as_json
                   else output.format_site_rows(rows, site, output.colour_enabled()))
        raise click.exceptions.Exit(int(ExitCode.OK if site_mod.site_ok(rows) else ExitCode.REJECTED))
    _run_validate(folder, as_json=as_json, dry_run=dry_run, static_only=static_only, allow_live=allow_live,
                  graph_version=graph_version, default_country=default_country, events=list(site_events) or None)


def _run_validate(folder: str, *, token: str | None = None, as_json: bool = False, dry_run: bool = False,
                  static_only: bool = False, allow_live: bool = False, graph_version: str | None = None,
                  default_country: str | None = None, events: list[str] | None = None) -> None:
    """Static checks + test events; prints the report and exits 0 (accepted) or 3 (rejected/failed)."""
    from quickstart import validate as validate_mod
    from quickstart.settings import GRAPH_API_VERSION

    from quickstart.answers import validate_default_country, validate_events

    default_country = validate_default_country(default_country)
    events = validate_events(events) if events else None
    mode = "static" if static_only else "dry-run" if dry_run else "send"
    from quickstart.envfile import resolve_token

    token = token or resolve_token(folder)

    def ask_token() -> str | None:
        if not _interactive():
            return None
        from quickstart.redaction import clean_token

        return clean_token(click.prompt("Meta CAPI access token (input hidden)", hide_input=True, err=True), "the prompt")

    report = validate_mod.run(folder, mode=mode, token=token, ask_token=ask_token, allow_live=allow_live,
                              graph_version=graph_version or GRAPH_API_VERSION, default_country=default_country,
                              events=events)
    from quickstart import output

    click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if as_json
               else output.format_validate_report(report, output.colour_enabled()))
    raise click.exceptions.Exit(int(ExitCode.OK if report.ok else ExitCode.REJECTED))


# ---------------------------------------------------------------------------------------------
# apply


@cli.command(short_help="Make Adobe match FOLDER: plan, ask, apply.")
@_folder_argument
@click.option("--plan", "--dry-run", "plan", is_flag=True,
              help="Show what would change, with old -> new values; change nothing (exit 0: nothing to do, 5: changes).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="With --plan: save the plan to FILE for --plan-file.")
@click.option("--plan-file", type=click.Path(dir_okay=False, exists=True),
              help="Carry out a plan saved with --plan --out, only if Adobe still holds what it was made from.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before changing Adobe (required without a terminal).")
@click.option("--datastream-id", help="The datastream (edge configuration) id for the Web SDK; saved into the folder.")
@click.option("--create-datastream", is_flag=True,
              help="Find or create the datastream through Adobe's UNDOCUMENTED Edge metadata endpoint "
                   "(no public API exists; it may change without notice).")
@click.option("--only", type=click.Choice(["edge", "web"]),
              help="Apply one property: edge (the event forwarding property, so a datastream can point at it) or web.")
@click.option("--prune", is_flag=True, help="Also delete the rules and data elements quickstart made that the folder no longer has.")
@click.option("--skip-checks", is_flag=True, help="Apply even if `validate --static-only` rejects the folder.")
@click.option("--concurrency", type=click.IntRange(1, 16), default=8, show_default=True,
              help="Reactor API calls in flight at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan or the result as JSON on stdout (progress goes to stderr).")
def apply(folder, plan, out_file, plan_file, yes, datastream_id, create_datastream, only, prune, skip_checks,
          concurrency, as_json):
    """Make Adobe match FOLDER through the Reactor API: plan, then carry out exactly that plan.

    Reads what exists (by name), shows the changes with their old and new values, asks, then
    creates or updates only what differs, along the dependencies, CONCURRENCY calls at a time.
    A second run changes nothing; a run that stopped half way finishes without duplicates.
    Both properties get a development library and a build; snippets/head.html gets the real
    embed code. A rule or data element you drop from quickstart.yaml leaves the library; with
    --prune it is deleted too (only what quickstart made, as .quickstart/state.json records).

    \b
    Needs (OAuth Server-to-Server credential for the Experience Platform Launch API):
      ADOBE_CLIENT_ID, ADOBE_CLIENT_SECRET, ADOBE_ORG_ID   (ADOBE_SCOPES optional)
      META_CAPI_ACCESS_TOKEN   (or in the folder's .env) when the token secret is created;
                               stored in Adobe, never in the folder's files

    \b
    Exit codes: 0 done or nothing to change, 5 (--plan) something would change,
      2 bad input or a refused run (nothing changed), 3 validate rejects the folder.

    \b
    Examples:
      quickstart apply example.com --plan
      quickstart apply example.com --datastream-id 0f3a2b1c-1111-2222-3333-444455556666
      quickstart apply example.com --plan --out plan.json && quickstart apply example.com --plan-file plan.json
      quickstart apply example.com --only edge      # then create the datastream in the UI
      quickstart apply example.com --create-datastream --yes
    """
    from quickstart import output
    from quickstart.adobe.apply import Apply
    from quickstart.adobe.plan import Plan

    folder = _quickstart_folder(folder)
    if out_file and not plan:
        raise InputError("--out saves a plan: use it with --plan")
    if plan_file and plan:
        raise InputError("--plan-file carries out a saved plan; leave out --plan")

    def progress(event) -> None:
        click.echo(output.format_progress(event), err=True)

    saved = None
    if plan_file:
        try:
            saved = Plan.from_dict(json.loads(open(plan_file, encoding="utf-8").read()), plan_file)
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{plan_file} is not a plan saved by `quickstart apply --plan --out`") from None
        prune, only = saved.prune, saved.only
    try:
        with Apply(folder, datastream_id=datastream_id, create_datastream=create_datastream, only=only, prune=prune,
                   skip_checks=skip_checks, concurrency=concurrency, progress=progress) as job:
            if saved is not None:
                result = job.execute(saved, saved=True)
            else:
                the_plan = job.plan()
                if plan and out_file:
                    from quickstart.fsio import atomic_write

                    atomic_write(Path(out_file), json.dumps(the_plan.to_dict(), indent=2) + "\n")
                result = _preview_or_carry_out(job, the_plan, folder, preview=plan, yes=yes, as_json=as_json)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: what was created so far is kept; rerun `quickstart apply` to finish", err=True)
        raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else output.format_apply_summary(result, folder))


@cli.command(short_help="Take FOLDER's libraries through staging to production.")
@_folder_argument
@click.option("--to", "target", type=click.Choice(["staging", "production"]), required=True,
              help="The environment to publish to: staging first, then production.")
@click.option("--plan", "--dry-run", "plan", is_flag=True,
              help="Show the steps; change nothing (exit 0: nothing to do, 5: something would change).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before changing Adobe (required without a terminal).")
@click.option("--skip-checks", is_flag=True, help="Publish even if `validate --static-only` rejects the folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan or the result as JSON on stdout (progress goes to stderr).")
def publish(folder, target, plan, yes, skip_checks, as_json):
    """Publish FOLDER's setup the way Adobe's publishing flow does, both properties.

    --to staging: the development library (built by `apply`) is submitted, moved to the staging
    environment and built there. --to production: the library on staging is approved, moved to
    the production environment and built there (published). The event forwarding property goes
    first. Shows the plan and asks first, as apply does; a rerun changes nothing.

    \b
    Refuses, changing nothing (exit 2), when: the folder has changes not applied yet; the
    development build did not succeed; production is asked for what was not built on staging,
    or while development holds something newer. Exit 3: validate rejects the folder.

    \b
    Examples:
      quickstart publish example.com --to staging --plan
      quickstart publish example.com --to staging --yes
      quickstart validate example.com --site https://staging.example.com   # the staging page
      quickstart publish example.com --to production
    """
    from quickstart import output
    from quickstart.adobe.apply import Apply

    folder = _quickstart_folder(folder)

    def progress(event) -> None:
        click.echo(output.format_progress(event), err=True)

    try:
        with Apply(folder, skip_checks=skip_checks, progress=progress) as job:
            result = _preview_or_carry_out(job, job.plan_publish(target), folder, preview=plan, yes=yes,
                                           as_json=as_json, verb="publish")
    except KeyboardInterrupt:
        click.echo("\ninterrupted: rerun `quickstart publish` to continue where it stopped", err=True)
        raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else output.format_publish_summary(result, folder))


def _preview_or_carry_out(job, plan, folder: str, *, preview: bool, yes: bool, as_json: bool, verb: str = "apply"):
    """apply's and publish's shared end: the plan shown; with --plan, exit 0 or WOULD_CHANGE;
    else the question (or --yes), then exactly that plan carried out."""
    from quickstart import output

    if preview or not as_json:
        click.echo(json.dumps(plan.to_dict(), indent=2) if as_json else output.format_plan(plan, output.colour_enabled()))
    if preview:
        raise click.exceptions.Exit(int(ExitCode.WOULD_CHANGE if plan.has_changes else ExitCode.OK))
    _confirm(plan, folder, yes, verb=verb)
    return job.execute(plan)


def _confirm(plan, folder: str, yes: bool, verb: str = "apply") -> None:
    """Ask before changing Adobe; without a terminal, --yes is the answer (terraform's -auto-approve)."""
    if yes or not plan.has_changes or plan.missing:
        return  # a plan with missing inputs is refused by execute, before any change
    review = f"quickstart {verb} {folder}" + (f" --to {plan.target}" if plan.target else "") + " --plan"
    if not _interactive():
        raise InputError(f"{verb} would change Adobe and there is no terminal to ask: review `{review}`, then rerun "
                         "with --yes; nothing was changed")
    counts = plan.counts()
    if not click.confirm(f"{verb.capitalize()}: {counts['add']} to add, {counts['change']} to change, "
                         f"{counts['remove'] + counts['delete']} to remove, {counts['builds']} to build. Go ahead?",
                         default=False, err=True):
        raise QuickstartError(f"{verb} cancelled; nothing was changed")


# ---------------------------------------------------------------------------------------------
# completion


@cli.command(short_help="Print a shell completion script.")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell):
    """Print the completion script for SHELL: commands, options, event names, folders.

    \b
    Examples:
      eval "$(quickstart completion bash)"                    # in ~/.bashrc
      eval "$(quickstart completion zsh)"                     # in ~/.zshrc
      quickstart completion fish > ~/.config/fish/completions/quickstart.fish
    """
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)(cli, {}, "quickstart", "_QUICKSTART_COMPLETE")
    click.echo(completer.source())


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="quickstart")
