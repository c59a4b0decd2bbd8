"""The shipped assessment templates (``risk/content/*.yaml``): sections of questions, and the
threats whose risks the assessment scores (docs/risk.md#the-questionnaire)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

QuestionKind = Literal["yesno", "choice", "multi", "number", "text"]


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    kind: QuestionKind
    required: bool = True
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (key, label), for choice and multi
    unit: str = ""  # for number


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


def template(slug: str) -> Template:
    """The shipped template ``slug`` (LookupError naming the known ones)."""
    raise NotImplementedError


def templates() -> list[Template]:
    raise NotImplementedError
