"""The command line: parse, call the core, map errors to exit codes. Nothing else lives here.

Heavy modules (questionary, requests, playwright) are imported inside the commands that need
them, so ``quickstart --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from quickstart import __version__
from quickstart.errors import ExitCode, InputError, QuickstartError
from quickstart.settings import PIXEL_ID_ENV, TEST_EVENT_CODE_ENV, TOKEN_ENV

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class QuickstartGroup(click.Group):
    """Turns every error into one line on stderr and its exit code; never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except QuickstartError as exc:
            click.echo(f"error: {exc.message}", err=True)
            raise click.exceptions.Exit(int(exc.exit_code)) from None
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("\ninterrupted; nothing was written", err=True)
            raise click.exceptions.Exit(int(ExitCode.INTERRUPTED)) from None
        except (click.exceptions.Exit, click.ClickException):
            raise
        except OSError as exc:  # disk full, permissions, a file where a folder should be
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"error: {exc.strerror or type(exc).__name__}{where}", err=True)
            raise click.exceptions.Exit(int(ExitCode.ERROR)) from None
        except Exception as exc:
            if os.environ.get("QUICKSTART_DEBUG"):
                # The whole traceback, for a bug report, with every secret redacted from it.
                import traceback

                from quickstart.redaction import known_secrets, redact

                text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                click.echo(redact(text, known_secrets()), err=True, nl=False)
                raise click.exceptions.Exit(int(ExitCode.ERROR)) from None
            # The message of an unexpected error may hold anything (even a token): name the type only.
            click.echo(f"error: unexpected {type(exc).__name__}; rerun with QUICKSTART_DEBUG=1 for details", err=True)
            raise click.exceptions.Exit(int(ExitCode.ERROR)) from None


@click.group(cls=QuickstartGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="quickstart")
def cli() -> None:
    """Set up Meta Pixel + Meta Conversions API through Adobe Experience Platform.

    \b
      quickstart init example.com        # answers -> ./example.com/ with every artifact
      quickstart validate example.com    # static checks + test events at Meta's CAPI
      quickstart apply example.com       # create it all in Adobe through the Reactor API
      quickstart validate example.com --site https://example.com   # the live page, in a browser

    Each command has its own --help with examples.
    """


# ---------------------------------------------------------------------------------------------
# Shared options (defined once, reused by decorator)

def _answer_options(func):
    """The flags for every answer of DESIGN §2 (init and update share them)."""
    options = [
        click.option("--pixel-id", envvar=PIXEL_ID_ENV, show_envvar=True, help="Meta Pixel (dataset) ID, digits only."),
        click.option("--data-layer-path", help="Where the site puts event data. [default: window.dataLayer.meta]"),
        click.option("--events", help="Comma-separated Meta events, e.g. PageView,AddToCart,Purchase. [default: all 18]"),
        click.option("--test-event-code", envvar=TEST_EVENT_CODE_ENV, show_envvar=True, help="Code from Events Manager > Test Events (letters and digits)."),
        click.option("--ldu/--no-ldu", default=None, help="Send Meta's Limited Data Use flag with every CAPI event. [default: off]"),
        click.option("--default-country", help="ISO country code (e.g. US) for customers' national phone numbers "
                                               "without a country code; without it the browser leaves such numbers out."),
        click.option("--datastream-id", help="The Adobe datastream id, if it exists already (else `apply` sets it)."),
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


def _interactive() -> bool:
    # QUICKSTART_FORCE_TTY lets tests drive the wizard through prompt_toolkit's pipe input.
    if os.environ.get("QUICKSTART_FORCE_TTY") == "1":
        return True
    return sys.stdin.isatty() and sys.stdout.isatty()


# ---------------------------------------------------------------------------------------------
# init / update


@cli.command()
@click.argument("domain", required=False)
@_answer_options
@click.option("-o", "--output", type=click.Path(file_okay=False), help="Output folder. [default: ./<domain>]")
@click.option("--answers", "answers_file", type=click.Path(dir_okay=False), help="Replay a quickstart.yaml (flags override it).")
@click.option("-y", "--yes", is_flag=True, help="Accept defaults; never prompt.")
@click.option("--token-stdin", is_flag=True, help="Read the CAPI access token from stdin.")
@click.option("--store-token", is_flag=True, help="Store the token in <folder>/.env (mode 0600, gitignored).")
@click.option("--force", is_flag=True, help="Overwrite files you edited (a backup goes to .quickstart/backup/).")
@click.option("--validate", "run_validation", is_flag=True, help="Fire the test events at Meta when done (needs token and test event code).")
def init(domain, pixel_id, data_layer_path, events, test_event_code, ldu, default_country, datastream_id, output, answers_file, yes, token_stdin, store_token, force, run_validation):
    """Write the folder with every artifact for DOMAIN.

    Asks for what is missing when run in a terminal; otherwise takes flags and fails with the
    names of the missing ones. The access token is never a flag: it comes from the
    META_CAPI_ACCESS_TOKEN environment variable, --token-stdin, or a hidden prompt.

    \b
    Examples:
      quickstart init example.com
      quickstart init example.com --pixel-id 1234567890 --yes
      quickstart init shop.example.com --pixel-id 1234567890 --events PageView,AddToCart,Purchase \\
          --test-event-code TEST12345 --data-layer-path window.digitalData.meta --yes
      echo "$TOKEN" | quickstart init example.com --pixel-id 1234567890 --token-stdin --store-token --yes
    """
    from quickstart import answers as answers_mod
    from quickstart import render

    given = _flag_values(domain=domain, pixel_id=pixel_id, data_layer_path=data_layer_path, events=events,
                         test_event_code=test_event_code, ldu=ldu, default_country=default_country,
                         datastream_id=datastream_id)
    base = answers_mod.load_answers_file(answers_file) if answers_file else {}
    values = answers_mod.merge(base, given)
    answers_mod.check_values(values)  # bad input: one line, exit 2, before anything is asked or written

    from quickstart.redaction import clean_token

    token = _read_token_from_stdin() if token_stdin else clean_token(os.environ.get(TOKEN_ENV), TOKEN_ENV)
    missing = answers_mod.missing_required(values)
    interactive = _interactive() and not token_stdin
    wizard_result = None
    if interactive and (missing or not yes):
        from quickstart import wizard

        wizard_result = wizard.ask(values, ask_optional=not yes, token_known=token is not None)
        values, token = wizard_result.values, wizard_result.token or token
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
    result = render.write_folder(target, answers, token=token if store_token else None, force=force)
    click.echo(render.format_result(result))
    click.echo(render.next_steps(result.folder, answers, token_known=token is not None))

    wants_validation = run_validation or (wizard_result is not None and wizard_result.validate_now)
    if wants_validation:
        _fire_test_events(result.folder, token)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@_answer_options
@click.option("--force", is_flag=True, help="Overwrite files you edited (a backup goes to .quickstart/backup/).")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing (exit 5 if something would).")
def update(folder, pixel_id, data_layer_path, events, test_event_code, ldu, default_country, datastream_id, force, dry_run):
    """Re-render FOLDER from its quickstart.yaml, with a status per file.

    Change an answer by editing quickstart.yaml or with a flag (the flag is saved into
    quickstart.yaml, keeping its comments). A file you edited by hand is a conflict and is
    left alone unless you pass --force.

    \b
    Examples:
      quickstart update example.com
      quickstart update example.com --events PageView,Purchase,Lead
      quickstart update example.com --dry-run
    """
    from quickstart import answers as answers_mod
    from quickstart import render

    given = _flag_values(pixel_id=pixel_id, data_layer_path=data_layer_path, events=events,
                         test_event_code=test_event_code, ldu=ldu, default_country=default_country,
                         datastream_id=datastream_id)
    answers_mod.check_values(given)
    base = answers_mod.load_answers_file(os.path.join(folder, "quickstart.yaml"))
    values = answers_mod.merge(base, given)
    answers_mod.check_values(values)
    missing = answers_mod.missing_required(values)
    if missing:
        raise answers_mod.missing_answers_error(missing)
    answers = answers_mod.Answers.from_values(values)
    result = render.write_folder(folder, answers, force=force, dry_run=dry_run)
    click.echo(render.format_result(result))
    if dry_run and result.would_change:
        raise click.exceptions.Exit(int(ExitCode.WOULD_CHANGE))


def _fire_test_events(folder: str, token: str | None) -> None:
    """init's last step: the seed's flow, set up then validate."""
    _run_validate(str(folder), token=token)


# ---------------------------------------------------------------------------------------------
# validate


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--site", metavar="URL", help="Check the live page in headless Chromium (needs quickstart[browser]).")
@click.option("--event", "site_events", multiple=True, metavar="NAME", help="Only this event's test event (repeatable). With --site: fill sample data and fire it on the page; on a live site that sends a real sample event to Meta unless the folder has a test event code.")
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
    if site:
        from quickstart import site as site_mod

        code = site_mod.run_site_command(folder, site, list(site_events), as_json=as_json, echo=click.echo)
        raise click.exceptions.Exit(int(code))
    _run_validate(folder, as_json=as_json, dry_run=dry_run, static_only=static_only, allow_live=allow_live,
                  graph_version=graph_version, default_country=default_country, events=list(site_events) or None)


def _run_validate(folder: str, *, token: str | None = None, as_json: bool = False, dry_run: bool = False,
                  static_only: bool = False, allow_live: bool = False, graph_version: str | None = None,
                  default_country: str | None = None, events: list[str] | None = None) -> None:
    """Static checks + test events; prints the report and exits 0 (accepted) or 3 (rejected/failed)."""
    import json

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
    click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if as_json else validate_mod.format_report(report))
    raise click.exceptions.Exit(int(ExitCode.OK if report.ok else ExitCode.REJECTED))


# ---------------------------------------------------------------------------------------------
# apply


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
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
    import json

    from quickstart import output
    from quickstart.adobe.apply import Apply
    from quickstart.adobe.planner import Plan

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
                if plan:
                    if out_file:
                        from quickstart.render import atomic_write

                        atomic_write(Path(out_file), json.dumps(the_plan.to_dict(), indent=2) + "\n")
                    click.echo(json.dumps(the_plan.to_dict(), indent=2) if as_json
                               else output.format_plan(the_plan, output.colour_enabled()))
                    if the_plan.has_changes:
                        raise click.exceptions.Exit(int(ExitCode.WOULD_CHANGE))
                    return
                if not as_json:
                    click.echo(output.format_plan(the_plan, output.colour_enabled()))
                _confirm(the_plan, folder, yes)
                result = job.execute(the_plan)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: what was created so far is kept; rerun `quickstart apply` to finish", err=True)
        raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else output.format_apply_summary(result, folder))


def _confirm(plan, folder: str, yes: bool) -> None:
    """Ask before changing Adobe; without a terminal, --yes is the answer (terraform's -auto-approve)."""
    if yes or not plan.has_changes or plan.missing:
        return  # a plan with missing inputs is refused by execute, before any change
    if not _interactive():
        raise InputError(f"apply would change Adobe and there is no terminal to ask: review `quickstart apply {folder} "
                         "--plan`, then rerun with --yes; nothing was changed")
    counts = plan.counts()
    if not click.confirm(f"Apply these changes ({counts['add']} to add, {counts['change']} to change, "
                         f"{counts['remove'] + counts['delete']} to remove)?", default=False, err=True):
        raise QuickstartError("apply cancelled; nothing was changed")


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="quickstart")
