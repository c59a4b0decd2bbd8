"""The shipped assessment templates (``risk/content/*.yaml``): sections of questions, and the
threats whose risks the assessment scores (docs/risk.md#the-questionnaire)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from mailwarden.core.errors import ServiceError

QuestionKind = Literal["yesno", "choice", "multi", "number", "text"]
KINDS: tuple[str, ...] = get_args(QuestionKind)
CONTENT_DIR = Path(__file__).parent / "content"


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    kind: QuestionKind
    required: bool = True
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (key, label), for choice and multi
    unit: str = ""  # for number
    maximum: float | None = None  # for number, e.g. 100 for a percentage


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Threat:
    key: str
    title: str
    description: str


@dataclass(frozen=True)
class Template:
    slug: str
    title: str
    version: int
    summary: str
    sections: tuple[Section, ...]
    threats: tuple[Threat, ...]

    def question(self, key: str) -> Question | None:
        return next((q for s in self.sections for q in s.questions if q.key == key), None)

    def check_threat(self, threat: str) -> str:
        """``threat`` when it is one of this template's threats' keys, or empty."""
        threat = threat.strip()
        known = [t.key for t in self.threats]
        if threat and threat not in known:
            raise ServiceError(
                f"unknown threat {threat!r}; this template's threats are {', '.join(known)}",
                "threat",
            )
        return threat


class TemplateError(ValueError):
    """A shipped template file that does not say what a template must (a packaging mistake)."""


def _text(data: dict[str, Any], name: str, where: str, *, required: bool = True) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise TemplateError(f"{where}: {name!r} must be {'non-empty ' if required else ''}text")
    return value.strip()


def _mapping(data: object, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TemplateError(f"{where}: must be a mapping")
    return data


def _list(data: dict[str, Any], name: str, where: str) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list) or not value:
        raise TemplateError(f"{where}: {name!r} must be a non-empty list")
    return value


def _choices(data: dict[str, Any], kind: str, where: str) -> tuple[tuple[str, str], ...]:
    if kind not in ("choice", "multi"):
        if "choices" in data:
            raise TemplateError(f"{where}: only choice and multi questions have choices")
        return ()
    found: list[tuple[str, str]] = []
    for index, raw in enumerate(_list(data, "choices", where)):
        choice = _mapping(raw, f"{where}.choices[{index}]")
        found.append(
            (
                _text(choice, "key", f"{where}.choices[{index}]"),
                _text(choice, "label", f"{where}.choices[{index}]"),
            )
        )
    if len({key for key, _ in found}) != len(found):
        raise TemplateError(f"{where}: choice keys must be unique")
    return tuple(found)


def _maximum(data: dict[str, Any], kind: str, where: str) -> float | None:
    value = data.get("max")
    if value is None:
        return None
    if kind != "number" or isinstance(value, bool) or not isinstance(value, int | float):
        raise TemplateError(f"{where}: only a number question has a numeric 'max'")
    return float(value)


def _question(raw: object, where: str) -> Question:
    data = _mapping(raw, where)
    kind = _text(data, "kind", where)
    if kind not in KINDS:
        raise TemplateError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    required = data.get("required", True)
    if not isinstance(required, bool):
        raise TemplateError(f"{where}: 'required' must be true or false")
    return Question(
        key=_text(data, "key", where),
        text=_text(data, "text", where),
        kind=kind,  # type: ignore[arg-type]  # checked against KINDS just above
        required=required,
        help=_text(data, "help", where, required=False),
        choices=_choices(data, kind, where),
        unit=_text(data, "unit", where, required=False),
        maximum=_maximum(data, kind, where),
    )


def _section(raw: object, where: str) -> Section:
    data = _mapping(raw, where)
    key = _text(data, "key", where)
    return Section(
        key=key,
        title=_text(data, "title", where),
        intro=_text(data, "intro", where, required=False),
        questions=tuple(
            _question(q, f"{where}.{i}") for i, q in enumerate(_list(data, "questions", where))
        ),
    )


def _threat(raw: object, where: str) -> Threat:
    data = _mapping(raw, where)
    return Threat(
        key=_text(data, "key", where),
        title=_text(data, "title", where),
        description=_text(data, "description", where, required=False),
    )


def _unique(keys: list[str], what: str, where: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise TemplateError(f"{where}: the {what} key {key!r} is used twice")
        seen.add(key)


def parse(text: str, where: str) -> Template:
    """A template from YAML text (TemplateError saying where it is wrong)."""
    data = _mapping(yaml.safe_load(text), where)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise TemplateError(f"{where}: 'version' must be a whole number from 1")
    sections = tuple(
        _section(s, f"{where}: sections.{i}") for i, s in enumerate(_list(data, "sections", where))
    )
    threats = tuple(
        _threat(t, f"{where}: threats.{i}") for i, t in enumerate(_list(data, "threats", where))
    )
    _unique([s.key for s in sections], "section", where)
    _unique([q.key for s in sections for q in s.questions], "question", where)
    _unique([t.key for t in threats], "threat", where)
    return Template(
        slug=_text(data, "slug", where),
        title=_text(data, "title", where),
        version=version,
        summary=_text(data, "summary", where, required=False),
        sections=sections,
        threats=threats,
    )


@cache
def _shipped() -> dict[str, Template]:
    found: dict[str, Template] = {}
    for path in sorted(CONTENT_DIR.glob("*.yaml")):
        shipped = parse(path.read_text(encoding="utf-8"), path.name)
        if shipped.slug != path.stem:
            raise TemplateError(f"{path.name}: its slug must be {path.stem!r}")
        found[shipped.slug] = shipped
    return found


def template(slug: str) -> Template:
    """The shipped template ``slug`` (LookupError naming the known ones)."""
    found = _shipped().get(slug)
    if found is None:
        known = ", ".join(sorted(_shipped())) or "none"
        raise LookupError(f"unknown assessment template {slug!r}; the templates are {known}")
    return found


def templates() -> list[Template]:
    return list(_shipped().values())
