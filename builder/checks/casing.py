"""Rules about how keywords and stage names are written: StageNameCasing, FromAsCasing and
ConsistentInstructionCasing. They read the words as the user wrote them (``Instruction.original``), since
the typed tree has upper-cased the keyword and lower-cased the stage name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from builder.checks.model import CheckInput, Finding, at_word
from builder.syntax.ast import From, Instruction


def written_words(instruction: Instruction) -> list[str]:
    """The instruction's words as written (blank-separated): the keyword first."""
    return instruction.original.split()


def from_words(instruction: From) -> tuple[str, list[str]]:
    """FROM's keyword as written and its arguments after any ``--flag`` (``image [AS name]``)."""
    words = written_words(instruction)
    args = words[1:]
    while args and args[0].startswith("--"):
        args = args[1:]
    return words[0], args


def stage_body(instructions: tuple[Instruction, ...]) -> tuple[Instruction, ...]:
    """The instructions from the first FROM on: the global ARGs before it belong to no stage."""
    first = next((i for i, ins in enumerate(instructions) if isinstance(ins, From)), len(instructions))
    return instructions[first:]


def stage_name_casing(check: CheckInput) -> Iterator[Finding]:
    for ins in check.buildfile.instructions:
        if isinstance(ins, From):
            _, args = from_words(ins)
            if len(args) == 3 and args[2] != args[2].lower():
                yield Finding.of("StageNameCasing", at_word(ins, args[2], last=True), args[2])


def from_as_casing(check: CheckInput) -> Iterator[Finding]:
    for ins in check.buildfile.instructions:
        if not isinstance(ins, From):
            continue
        keyword, args = from_words(ins)
        if len(args) < 3:
            continue
        # a keyword of mixed case is ConsistentInstructionCasing's finding, not this rule's
        if keyword == keyword.lower():
            matches = args[1] == args[1].lower()
        elif keyword == keyword.upper():
            matches = args[1] == args[1].upper()
        else:
            matches = True
        if not matches:
            yield Finding.of("FromAsCasing", _at_as(ins, args[1]), keyword, args[1])


def _at_as(ins: From, word: str):
    """The span of the ``AS`` word: the first blank-delimited occurrence after the keyword."""
    match = re.search(rf"\s({re.escape(word)})(\s|$)", ins.span.source_line or "")
    return replace(ins.span, column=match.start(1) + 1) if match else ins.span


def consistent_instruction_casing(check: CheckInput) -> Iterator[Finding]:
    body = stage_body(check.buildfile.instructions)
    keywords = [written_words(ins)[0] for ins in body]
    lower = sum(1 for k in keywords if k == k.lower())
    upper = sum(1 for k in keywords if k == k.upper() and k != k.lower())
    majority_lower = lower > upper
    for ins, keyword in zip(body, keywords, strict=True):
        if majority_lower and keyword != keyword.lower():
            yield Finding.of("ConsistentInstructionCasing", ins.span, keyword, "lowercase")
        elif not majority_lower and keyword != keyword.upper():
            yield Finding.of("ConsistentInstructionCasing", ins.span, keyword, "uppercase")
