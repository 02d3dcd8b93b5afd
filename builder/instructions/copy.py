"""COPY and ADD: history text; the file operations live in the executor's copy step."""

from __future__ import annotations


def history_text(keyword: str, sources: list[str], dest: str) -> str:
    """``COPY src… dest # buildkit`` — BuildKit records neither flags nor heredoc bodies."""
    return f"{keyword} {' '.join([*sources, dest])} # buildkit"
