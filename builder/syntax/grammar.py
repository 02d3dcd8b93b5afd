"""The lark parser for ``grammar/buildfile.lark``, built once per process on first use."""

from __future__ import annotations

from pathlib import Path

#: The grammar lives in the repository's grammar/ directory, next to builder/.
GRAMMAR_PATH = Path(__file__).resolve().parent.parent.parent / "grammar" / "buildfile.lark"

_lark = None


def parser():
    """The lark parser, built on first use and kept for the life of the process."""
    global _lark
    if _lark is None:
        from lark import Lark

        _lark = Lark(
            GRAMMAR_PATH.read_text(encoding="utf-8"),
            parser="lalr",
            lexer="contextual",
            start=["instruction", "json_array"],
            propagate_positions=True,
            maybe_placeholders=False,
            # lark keeps the analysed grammar in a file in the temp directory, keyed by the grammar's hash
            # and these options: later processes load it instead of rebuilding the LALR tables
            cache=True,
        )
    return _lark
