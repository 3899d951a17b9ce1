"""Needs surveys (需求调研): the plain-text format workers write a survey in, and its rules.

Title on the first line
? A single-choice question
- an option
- another option
?* A multiple-choice question
- ...
?? The one free-text question
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import InvalidInput

SINGLE, MULTI, TEXT = "single", "multi", "text"
MAX_QUESTIONS = 10
MAX_OPTIONS = 8


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    kind: str
    text: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SurveySpec:
    title: str
    questions: tuple[QuestionSpec, ...]


def parse_survey(source: str) -> SurveySpec:
    """Raises InvalidInput("survey", "line N: …") naming the first problem."""
    lines = [line.strip() for line in source.strip().splitlines()]
    if not lines or not lines[0] or lines[0].startswith(("?", "-")):
        raise InvalidInput("survey", "line 1: title")
    title, questions = lines[0][:200], []
    kind, text = "", ""  # the question being read
    options: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        if line.startswith("?"):
            if kind:
                questions.append(_question(kind, text, options, number))
            kind = TEXT if line.startswith("??") else MULTI if line.startswith("?*") else SINGLE
            text, options = line.lstrip("?*").strip(), []
            if not text:
                raise InvalidInput("survey", f"line {number}: question")
        elif line.startswith("-"):
            if not kind or kind == TEXT:
                raise InvalidInput("survey", f"line {number}: option")
            option = line.lstrip("-").strip()[:200]
            if not option:
                raise InvalidInput("survey", f"line {number}: option")
            options.append(option)
        else:
            raise InvalidInput("survey", f"line {number}: unknown")
    if kind:
        questions.append(_question(kind, text, options, len(lines) + 1))
    if not questions or len(questions) > MAX_QUESTIONS:
        raise InvalidInput("survey", "questions")
    if sum(q.kind == TEXT for q in questions) > 1:
        raise InvalidInput("survey", "one free-text question at most")
    return SurveySpec(title, tuple(questions))


def _question(kind: str, text: str, options: list[str], line: int) -> QuestionSpec:
    if kind != TEXT and not 2 <= len(options) <= MAX_OPTIONS:
        raise InvalidInput("survey", f"line {line}: options")
    return QuestionSpec(kind, text, tuple(options))
