"""Image references: parsing and normalisation with the grammar of the distribution ``reference`` package.

A reference is ``[DOMAIN/]PATH[:TAG][@DIGEST]``. Normalisation is what ``docker`` does to a short name:

* a first component that holds no ``.`` or ``:``, is not ``localhost`` and is lower case is part of the path,
  and the domain is ``docker.io`` (``index.docker.io`` is the same registry and becomes ``docker.io``);
* a one-component path on ``docker.io`` gets the ``library/`` prefix
  (``busybox`` → ``docker.io/library/busybox``);
* with neither tag nor digest, the tag is ``latest``; with a digest and no tag, there is no tag.

Errors are `RefError` (a `UsageError`, exit code 2) with the messages Docker prints, e.g. ``invalid reference
format: repository name (library/Busybox) must be lowercase``. Nothing here touches the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from builder.errors import UsageError

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE_RE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_HEX64_RE = re.compile(r"^[a-f0-9]{64}$")
_SHA256_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


class RefError(UsageError):
    """An image reference that does not parse, or is not allowed where it is used."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A normalised image reference. ``tag`` is None only when ``digest`` is set and no tag was given."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository name with its domain: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The name as ``docker`` shows it: ``busybox``, ``user/app``, ``ghcr.io/o/app``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        return self.path.removeprefix(OFFICIAL_REPO_PREFIX)

    def __str__(self) -> str:
        """The full normalised form: ``docker.io/library/busybox:latest`` (``@digest`` appended if any)."""
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def familiar(self) -> str:
        """The short form ``docker`` prints: ``busybox:latest``."""
        text = self.familiar_name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def tag_key(self) -> str:
        """The key the store's tag table uses: ``docker.io/library/busybox:latest``.

        Raises `RefError` for a digest-only reference, which names no tag.
        """
        if self.tag is None:
            raise RefError(f"reference has no tag: {self}")
        return f"{self.name}:{self.tag}"

    def with_tag(self, tag: str) -> ImageRef:
        """The same repository with ``tag`` and no digest."""
        if not _TAG_RE.match(tag):
            raise RefError(f"invalid tag format: {tag!r}")
        return ImageRef(self.domain, self.path, tag, None)


def _split_domain(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if not slash or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_ref(text: str, *, default_tag: bool = True) -> ImageRef:
    """Parse and normalise ``text`` (``busybox``, ``ghcr.io/o/app:1``, ``app@sha256:…``).

    With ``default_tag`` (the default) a reference with neither tag nor digest gets ``latest``.
    Raises `RefError` with Docker's wording for anything the reference grammar rejects.
    """
    if not text:
        raise RefError("invalid reference format: empty image name")
    if _HEX64_RE.match(text):
        raise RefError(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    # Separate tag and digest before normalising the name, as the reference package does.
    name, at, digest = text.partition("@")
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
    domain, remainder = _split_domain(name)
    if remainder.lower() != remainder:
        raise RefError(f"invalid reference format: repository name ({remainder}) must be lowercase")
    full = f"{domain}/{remainder}"
    rebuilt = full + (f":{tag}" if tag is not None else "") + (f"@{digest}" if at else "")
    match = _REFERENCE_RE.match(rebuilt)
    if not match or not _DOMAIN_RE.match(domain):
        raise RefError(f"invalid reference format: {text!r}")
    if len(full) > NAME_TOTAL_LENGTH_MAX:
        raise RefError(f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters: {text!r}")
    digest_value = match.group("digest")
    if digest_value is not None and digest_value.startswith("sha256:") and not _SHA256_RE.match(digest_value):
        raise RefError(f"invalid digest format: {digest_value!r}")
    if tag is None and digest_value is None and default_tag:
        tag = DEFAULT_TAG
    return ImageRef(domain, remainder, tag, digest_value)


def looks_like_id(text: str) -> bool:
    """True for ``sha256:<64 hex>``, 64 hex digits, or a hex prefix of at least 4 digits (an image ID)."""
    if _SHA256_RE.match(text) or _HEX64_RE.match(text):
        return True
    hex_part = text.removeprefix("sha256:")
    return 4 <= len(hex_part) <= 64 and all(c in "0123456789abcdef" for c in hex_part)


def familiar(tag_key: str) -> str:
    """``docker.io/library/busybox:latest`` → ``busybox:latest`` (for listing the store's tag keys)."""
    try:
        return parse_ref(tag_key).familiar()
    except RefError:
        return tag_key
