"""The limits of word expansion: how deep ``${…}`` may nest, how long one expanded word may grow, and how much
all the words of one build may produce together.

BuildKit has none of these; it runs out of memory or time on a Buildfile built to make it (twelve chained
``ARG aN=${aN-1}…`` lines of ten references each ask for 10¹² bytes; ``${x//a/$x}`` nested three times runs
for minutes; ``${a:-${a:-…}}`` 10,000 deep). pybuild refuses such a word with a located error instead.
Each limit is far beyond what a real Buildfile needs: the largest a running program can receive in one
environment variable is 128 KiB (Linux's MAX_ARG_STRLEN).
"""

from __future__ import annotations

#: ``${…}`` (and quotes holding them) inside one another, at most this deep.
MAX_NESTING = 100
#: The most characters references may add to one word (or to any part of it being built, such as a quoted
#: string or the word of a ``${v:-word}``), beyond the text written: 1 MiB.
MAX_WORD_CHARS = 1 << 20
#: The most characters the ``$`` references of one build may produce in all its words together: 128 MiB.
MAX_TOTAL_CHARS = 1 << 27


class TooLarge(Exception):
    """Internal: a limit was passed; ``message`` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def word_too_long() -> TooLarge:
    limit = f"{MAX_WORD_CHARS:,}"
    return TooLarge(f"expansion adds more than {limit} characters to a word (pybuild's limit, 1 MiB)")


class Budget:
    """How many more characters expansions may produce, shared by the words of one build (see
    `MAX_TOTAL_CHARS`). Not thread-safe: one resolver (one build's plan) owns one."""

    __slots__ = ("left",)

    def __init__(self, total: int = MAX_TOTAL_CHARS) -> None:
        self.left = total

    def charge(self, size: int) -> None:
        """Take ``size`` characters from the budget; raise `TooLarge` when it is spent."""
        self.left -= size
        if self.left < 0:
            raise TooLarge(
                f"the Buildfile's expansions produce more than {MAX_TOTAL_CHARS:,} characters in all"
                " (pybuild's limit, 128 MiB)"
            )
