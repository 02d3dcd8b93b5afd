"""Errors the registry client raises. All are `BuildError`s that name the registry, so the CLI prints them
without a traceback and the user knows which server said no."""

from __future__ import annotations

import json

from builder.errors import BuildError


class RegistryError(BuildError):
    """A registry refused a request, answered something malformed, or could not be reached.

    ``status`` is the HTTP status (None when no answer came); ``code`` the first error code of the
    distribution error body (``MANIFEST_UNKNOWN``, ``UNAUTHORIZED``…), if any.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None, hint=None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


class Unauthorized(RegistryError):
    """The registry wants credentials we do not have, or refused the ones we sent."""


class NotFound(RegistryError):
    """The repository, manifest or blob does not exist at the registry."""


def error_detail(body: bytes, status: int) -> tuple[str | None, str]:
    """``(code, text)`` from a distribution error body (``{"errors": [{"code", "message"}]}``).

    ``text`` reads like Docker's: ``unauthorized: authentication required``. A body that is not such a
    document gives ``(None, "HTTP <status>")``.
    """
    try:
        errors = json.loads(body.decode("utf-8"))["errors"]
        first = errors[0]
        code = str(first.get("code") or "")
        message = str(first.get("message") or "").strip()
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeDecodeError):
        return None, f"HTTP {status}"
    words = code.lower().replace("_", " ") if code else f"HTTP {status}"
    return code or None, f"{words}: {message}" if message and message.lower() != words else words
