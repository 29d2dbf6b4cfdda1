"""The interactive wizard: the only module that imports questionary.

Questions are plain data (``Question``); each becomes a questionary prompt at one call site.
Validation while typing uses the same validators as flags and answers files (answers.py).
``unsafe_ask`` makes Ctrl-C a KeyboardInterrupt, which the CLI turns into exit 130 before
anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from quickstart import answers as answers_mod
from quickstart import catalog
from quickstart.errors import InputError
from quickstart.settings import DEFAULT_DATA_LAYER_PATH


@dataclass
class WizardResult:
    values: dict[str, Any]
    token: str | None
    store_token: bool
    validate_now: bool


@dataclass
class Question:
    key: str
    kind: str  # text | password | checkbox | confirm
    message: str
    default: Any = None
    instruction: str | None = None


def _live_validator(key: str) -> Callable[[Any], bool | str]:
    """questionary validate callback: True, or the one-line reason shown under the prompt."""
    check = answers_mod.VALIDATORS[key]

    def validate(value: Any) -> bool | str:
        try:
            check(value)
        except InputError as exc:
            return exc.message
        return True

    return validate


def answer_questions(values: dict[str, Any], ask_optional: bool,
                     defaults: dict[str, Any] | None = None) -> list[Question]:
    """The questions for what ``values`` lacks; ``defaults`` (a folder's stored answers) are
    offered as each question's default. Required answers a default covers are asked only with
    ``ask_optional`` (a full run of the wizard), so `--yes` keeps them."""
    defaults = {key: value for key, value in (defaults or {}).items() if value is not None}

    def default(key: str, builtin: Any) -> Any:
        return defaults.get(key, builtin)

    questions = []
    for key, kind, message, instruction in (
            ("domain", "text", "Website domain (hostname, e.g. example.com):", None),
            ("pixel_id", "text", "Meta Pixel ID:", "Events Manager > Data sources > your pixel; digits only")):
        if not values.get(key) and (ask_optional or key not in defaults):
            questions.append(Question(key, kind, message, default(key, None), instruction=instruction))
    if ask_optional:
        if "data_layer_path" not in values:
            questions.append(Question("data_layer_path", "text", "Data layer path:",
                                      default("data_layer_path", DEFAULT_DATA_LAYER_PATH)))
        if "events" not in values:
            questions.append(Question("events", "checkbox", "Meta events to set up:",
                                      list(default("events", catalog.EVENT_NAMES))))
        if "test_event_code" not in values:
            questions.append(Question("test_event_code", "text", "Test event code (optional, Events Manager > Test Events):",
                                      default("test_event_code", "")))
        if "ldu" not in values:
            questions.append(Question("ldu", "confirm", "Send Meta's Limited Data Use flag (US state privacy laws)?",
                                      default("ldu", False)))
        if "default_country" not in values:
            questions.append(Question("default_country", "text",
                                      "Country of customers' national phone numbers (ISO code, e.g. US; empty: none):",
                                      default("default_country", "")))
    return questions


def _prompt(question: Question):
    import questionary

    if question.kind == "checkbox":
        choices = [questionary.Choice(name, checked=name in question.default) for name in catalog.EVENT_NAMES]
        return questionary.checkbox(question.message, choices=choices,
                                    validate=lambda chosen: bool(chosen) or "choose at least one event")
    if question.kind == "confirm":
        return questionary.confirm(question.message, default=bool(question.default))
    if question.kind == "password":
        return questionary.password(question.message)
    return questionary.text(question.message, default=question.default or "", instruction=question.instruction,
                            validate=_live_validator(question.key))


def ask(values: dict[str, Any], *, ask_optional: bool, token_known: bool,
        defaults: dict[str, Any] | None = None) -> WizardResult:
    """Ask what is missing (offering ``defaults``); return the completed values, and the token
    if one was typed."""
    values = dict(values)
    for question in answer_questions(values, ask_optional, defaults):
        reply = _prompt(question).unsafe_ask()
        values[question.key] = answers_mod.VALIDATORS[question.key](reply)

    token = None
    store_token = False
    validate_now = False
    if ask_optional:
        if not token_known:
            typed = _prompt(Question("token", "password",
                                     "CAPI access token (hidden; Enter to skip, `validate` and `apply` need it later):")).unsafe_ask()
            from quickstart.redaction import clean_token

            token = clean_token(typed, "the prompt")
        if token_known or token:
            store_token = _prompt(Question("store", "confirm",
                                           "Store the token in <folder>/.env (mode 0600, gitignored)?", False)).unsafe_ask()
            if values.get("test_event_code"):
                validate_now = _prompt(Question("validate", "confirm",
                                                "Fire the test events at Meta now?", True)).unsafe_ask()
    return WizardResult(values=values, token=token, store_token=bool(store_token), validate_now=bool(validate_now))
