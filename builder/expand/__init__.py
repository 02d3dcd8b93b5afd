"""Shell-word expansion with BuildKit's exact rules.

This is the behaviour of BuildKit's Dockerfile shell lexer (``frontend/dockerfile/shell``): quote removal,
escapes, ``$v``/``${v}`` references and the modifiers ``:- - :+ + :? ? # ## % %% / //``. It is not a shell:
there is no command substitution, no arithmetic, no field splitting except in :func:`expand_words`, and
positional or special parameters (``$1``, ``$@``, ``$$`` ...) are simply looked up like any name, so they
expand to the empty string unless the environment holds them.

The functions are pure: they read ``env`` (a mapping, names compared exactly as on Linux) and never change
it. A malformed word raises :class:`ExpansionError` with BuildKit's message text and no span; the caller
attaches the instruction's span with ``error.with_span(...)``. ``error.offset`` is the index in the word of
the construct that failed (the ``$`` of a reference or the opening quote), for a caret.

Keyword options mirror BuildKit's lexer switches, which some instructions use:

* ``raw_quotes``: keep quote characters in the result (still honouring their meaning);
* ``raw_escapes``: keep escape characters in the result;
* ``process_quotes=False``: quotes are ordinary characters (heredoc bodies);
* ``skip_unset``: leave references to unset names as written instead of expanding them.
"""

from __future__ import annotations

from collections.abc import Mapping

from builder.errors import SyntaxProblem
from builder.expand.lexer import BOM, EOF, Failure, Lexer, Words
from builder.expand.limits import MAX_NESTING, MAX_TOTAL_CHARS, MAX_WORD_CHARS, Budget, TooLarge
from builder.gofmt import quote

__all__ = [
    "MAX_NESTING",
    "MAX_TOTAL_CHARS",
    "MAX_WORD_CHARS",
    "Budget",
    "ExpansionError",
    "expand_word",
    "expand_words",
    "expand_word_with_matches",
]

# Messages quote the failing word up to this many characters.
_SHOWN_CHARS = 200


class ExpansionError(SyntaxProblem):
    """A word could not be expanded. ``offset`` is the index in the word of the failing construct."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


def _shown(word: str) -> str:
    """The word quoted for a message; a very long one (an expansion bomb, say) shortened."""
    return quote(word) if len(word) <= _SHOWN_CHARS else quote(word[:_SHOWN_CHARS]) + "…"


def _run(
    word: str,
    env: Mapping[str, str],
    escape: str,
    options: dict[str, bool],
    words: Words | None,
    budget: Budget | None,
) -> tuple[str, Lexer]:
    lexer = Lexer(word, env, escape, options)
    try:
        result = lexer.stop_on(EOF, lexer.raw_escapes, words)
    except Failure as failure:
        raise ExpansionError(f"failed to process {_shown(word)}: {failure.message}", failure.offset) from None
    if budget is not None:
        try:
            budget.charge(len(result))
        except TooLarge as error:
            raise ExpansionError(f"failed to process {_shown(word)}: {error.message}") from None
    return result, lexer


def _options(raw_quotes: bool, raw_escapes: bool, process_quotes: bool, skip_unset: bool) -> dict[str, bool]:
    return {
        "raw_quotes": raw_quotes,
        "raw_escapes": raw_escapes,
        "process_quotes": process_quotes,
        "skip_unset": skip_unset,
    }


def expand_word(
    word: str,
    env: Mapping[str, str],
    escape: str = "\\",
    *,
    raw_quotes: bool = False,
    raw_escapes: bool = False,
    process_quotes: bool = True,
    skip_unset: bool = False,
    budget: Budget | None = None,
) -> str:
    """Expand ``word`` as one word (BuildKit's ProcessWord): quotes removed, whitespace kept.

    ``budget``: the build's `Budget`, charged with the length of every word that had something to expand.
    Raises `ExpansionError` for a malformed word or one past the limits of :mod:`builder.expand.limits`.
    """
    if not (set(word) & {"$", "'", '"', escape, BOM}):
        return word  # nothing to expand: by far the common case
    options = _options(raw_quotes, raw_escapes, process_quotes, skip_unset)
    return _run(word, env, escape, options, None, budget)[0]


def expand_words(
    word: str,
    env: Mapping[str, str],
    escape: str = "\\",
    *,
    raw_quotes: bool = False,
    raw_escapes: bool = False,
    process_quotes: bool = True,
    skip_unset: bool = False,
    budget: Budget | None = None,
) -> list[str]:
    """Expand ``word`` and split it into fields (BuildKit's ProcessWords).

    Unquoted whitespace, including whitespace that a ``$`` reference produced, separates fields; quoted
    and escaped text never does. Empty fields are dropped.
    """
    words = Words()
    _run(word, env, escape, _options(raw_quotes, raw_escapes, process_quotes, skip_unset), words, budget)
    return words.finish()


def expand_word_with_matches(
    word: str,
    env: Mapping[str, str],
    escape: str = "\\",
    *,
    raw_quotes: bool = False,
    raw_escapes: bool = False,
    process_quotes: bool = True,
    skip_unset: bool = False,
) -> tuple[str, set[str], set[str]]:
    """Like :func:`expand_word`, also returning the names looked up and found, and those not set.

    A name counts even when its value was not used (``${FOO+x}`` looks FOO up); names inside a default
    that was not needed are still looked up, because BuildKit expands the default before choosing.
    """
    options = _options(raw_quotes, raw_escapes, process_quotes, skip_unset)
    result, lexer = _run(word, env, escape, options, None, None)
    return result, lexer.matched, lexer.unmatched
