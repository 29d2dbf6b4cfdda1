"""The generated folder, loaded once: the one reader of its files (DESIGN §3).

``load_folder(path)`` reads quickstart.yaml, the three property documents and state.json with one
YAML reader, and returns a ``Folder`` holding what it could read and the problems it found:
``validate`` turns the problems into findings, ``apply`` and ``site`` raise the first of the ones
they care about (``Folder.require``). A property document with a shape problem is not handed on
(every later check reads its parts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quickstart.errors import InputError
from quickstart.layout import (
    ANSWERS_FILE,
    DATA_LAYER_SNIPPET,
    DATASTREAM_FILE,
    FORWARDING_FILE,
    HEAD_SNIPPET,
    TAGS_FILE,
)

REQUIRED_FILES = (ANSWERS_FILE, TAGS_FILE, FORWARDING_FILE, DATASTREAM_FILE, HEAD_SNIPPET, DATA_LAYER_SNIPPET)
PROPERTY_FILES = {TAGS_FILE: "web", FORWARDING_FILE: "edge"}
MISSING = "file is missing; run `quickstart update <folder>` to write it again"


@dataclass(frozen=True)
class Problem:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class Folder:
    path: Path
    answers_values: dict[str, Any] | None = None  # quickstart.yaml as written, checked
    answers: Any = None  # quickstart.answers.Answers, when the values make a complete set
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # well-shaped property documents
    datastream: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def tags(self) -> dict[str, Any] | None:
        return self.documents.get(TAGS_FILE)

    @property
    def forwarding(self) -> dict[str, Any] | None:
        return self.documents.get(FORWARDING_FILE)

    @property
    def complete(self) -> bool:
        """Answers and both property documents: what every check and command reads."""
        return self.answers is not None and len(self.documents) == len(PROPERTY_FILES)

    def require(self, *files: str) -> "Folder":
        """The folder, or InputError for the first problem in ``files`` (all files when none given)."""
        relevant = [p for p in self.problems if not files or p.file in files]
        if relevant:
            more = f" (and {len(relevant) - 1} more; `quickstart validate` lists them)" if len(relevant) > 1 else ""
            raise InputError(f"{self.path / relevant[0].file}: {relevant[0].message}{more}")
        return self


def read_yaml(path: Path, name: str, problems: list[Problem], *, required: bool = True) -> Any:
    """A YAML document, or None with the problem recorded (missing, unreadable, not UTF-8, not YAML)."""
    from quickstart.yamlio import YAMLError, error_line, load_document

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            problems.append(Problem(name, MISSING))
        return None
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"))
        return None
    except OSError as exc:
        problems.append(Problem(name, f"cannot be read ({exc.strerror or type(exc).__name__})"))
        return None
    try:
        return load_document(text)
    except YAMLError as exc:
        line = error_line(exc)
        problems.append(Problem(name, f"not valid YAML{f' (line {line})' if line is not None else ''}: {exc}"))
        return None


def load_folder(path: str | Path) -> Folder:
    from quickstart import answers as answers_mod
    from quickstart.shapes import property_problems
    from quickstart.state import load_state

    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder")
    folder = Folder(root, state=load_state(root))
    problems = folder.problems
    for name in REQUIRED_FILES:
        if name not in (ANSWERS_FILE, *PROPERTY_FILES, DATASTREAM_FILE) and not (root / name).is_file():
            problems.append(Problem(name, MISSING))
    if (root / ANSWERS_FILE).is_file():
        try:
            folder.answers_values = answers_mod.check_values(answers_mod.load_answers_file(root / ANSWERS_FILE))
            folder.answers = answers_mod.Answers.from_values(folder.answers_values)
        except InputError as exc:
            problems.append(Problem(ANSWERS_FILE, exc.message))
    else:
        problems.append(Problem(ANSWERS_FILE, "file is missing: is this a folder made by `quickstart init`?"))
    for name, platform in PROPERTY_FILES.items():
        found = len(problems)
        document = read_yaml(root / name, name, problems)
        if len(problems) > found:
            continue
        if not isinstance(document, dict):
            problems.append(Problem(name, "must be a mapping with property, extensions, data_elements and rules"))
            continue
        shape = property_problems(document, name, platform)
        problems.extend(Problem(name, problem.split(": ", 1)[1]) for problem in shape)
        if not shape:  # the checks read its parts: only a well-shaped document goes on
            folder.documents[name] = document
    found = len(problems)
    datastream = read_yaml(root / DATASTREAM_FILE, DATASTREAM_FILE, problems)
    if isinstance(datastream, dict):
        folder.datastream = datastream
    elif len(problems) == found:
        problems.append(Problem(DATASTREAM_FILE, "must be a mapping with datastream and services"))
    return folder
