"""Expansion of single words for the plan, with errors located at the word and lookups recorded.

A thin layer over ``builder.expand``: it attaches a span pointing at the offending word to any
`ExpansionError`, and (through `RecordingEnv`) notes which names a word referred to that the environment
did not define — at plan time those may come from a base image whose config is not known yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from builder.errors import BuildError, Span
from builder.syntax.ast import Instruction

if TYPE_CHECKING:
    from builder.expand import Budget


class RecordingEnv(Mapping[str, str]):
    """A read-only view of ``env`` that records every name looked up and not found, in ``missing``."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.missing: list[str] = []

    def __getitem__(self, name: str) -> str:
        try:
            return self._env[name]
        except KeyError:
            if name not in self.missing:
                self.missing.append(name)
            raise

    def __contains__(self, name: object) -> bool:
        found = name in self._env
        if not found and isinstance(name, str) and name not in self.missing:
            self.missing.append(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def locate(instruction: Instruction, word: str) -> Span:
    """The instruction's span with its column moved to where ``word`` is written on its first line.

    Falls back to the instruction's own column when the word is not there verbatim (it sits on a
    continuation line, or was rewritten by the parser).
    """
    span = instruction.span
    source = span.source_line
    if word and source:
        at = source.find(word)
        if at >= 0:
            return replace(span, column=at + 1)
    return span


def _located(error: BuildError, instruction: Instruction, word: str) -> BuildError:
    """Attach a span at ``word`` (at the failing ``$`` inside it when the expander says where)."""
    span = locate(instruction, word)
    offset = getattr(error, "offset", None)
    if offset is not None and span.source_line and span.source_line.find(word) >= 0:
        span = replace(span, column=span.column + offset)
    return error.with_span(span)


def expand_word(
    word: str,
    env: Mapping[str, str],
    escape: str,
    instruction: Instruction,
    *,
    heredoc: bool = False,
    budget: Budget | None = None,
) -> str:
    """``builder.expand.expand_word`` with errors located at ``word`` within ``instruction``.

    ``heredoc`` expands a heredoc body the way BuildKit does: quotes are ordinary characters. ``budget``:
    the `builder.expand.Budget` of the build's words (the plan's, or its resolver's).
    """
    from builder.expand import expand_word as _expand

    try:
        return _expand(word, env, escape, process_quotes=not heredoc, budget=budget)
    except BuildError as error:
        raise _located(error, instruction, word) from None


def expand_words(
    word: str, env: Mapping[str, str], escape: str, instruction: Instruction, *, budget: Budget | None = None
) -> list[str]:
    """``builder.expand.expand_words`` (expansion then field splitting) with located errors."""
    from builder.expand import expand_words as _expand

    try:
        return list(_expand(word, env, escape, budget=budget))
    except BuildError as error:
        raise _located(error, instruction, word) from None
