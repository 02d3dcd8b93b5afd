"""Image references as package URLs, written exactly as BuildKit v0.13 writes them in provenance materials
and statement subjects (``pkg:docker/127.0.0.1%3A5077/busybox@1?platform=linux%2Famd64``).

BuildKit formats these with packageurl-go v0.1.1's ``ToString``: namespace segments and the name go through
Go's ``url.QueryEscape``, the version and qualifier values through ``url.PathEscape``, qualifiers in the order
added (``digest`` first, then ``platform``), unsorted. packageurl-python encodes differently (it leaves
``:`` and ``/`` alone), so this small encoder keeps the bytes equal to BuildKit's. Package URLs in an SBOM
are made with packageurl-python (`builder.attest.catalog`): there the purl spec, not BuildKit, decides.
"""

from __future__ import annotations

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
# Go's shouldEscape(c, encodePathSegment) keeps these sub-delimiters; '/' and '?' are escaped in a segment.
_PATH_SEGMENT_SAFE = _UNRESERVED | frozenset("$&+,:;=@")


def _escape(text: str, safe: frozenset[str], *, space_plus: bool) -> str:
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in safe:
            out.append(char)
        elif space_plus and char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def go_query_escape(text: str) -> str:
    """Go's ``url.QueryEscape``."""
    return _escape(text, _UNRESERVED, space_plus=True)


def go_path_escape(text: str) -> str:
    """Go's ``url.PathEscape``."""
    return _escape(text, _PATH_SEGMENT_SAFE, space_plus=False)


# containerd's normalisation: (arch, variant given by the alias itself)
_ARCH_ALIASES = {
    "x86_64": ("amd64", ""),
    "x86-64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "i386": ("386", ""),
}


def normalize_platform(platform: str) -> str:
    """containerd's ``platforms.Format(platforms.Normalize(p))`` for an ``os/arch[/variant]`` string:
    ``linux/arm64/v8`` → ``linux/arm64``, ``linux/arm`` → ``linux/arm/v7``,
    ``linux/x86_64`` → ``linux/amd64``."""
    parts = platform.lower().split("/")
    os_name = parts[0]
    arch, variant = _ARCH_ALIASES.get(parts[1], (parts[1], "")) if len(parts) > 1 else ("", "")
    if len(parts) > 2:
        variant = parts[2]
    if arch == "arm64" and variant in ("8", "v8"):
        variant = ""
    elif arch == "arm":
        variant = {"": "v7", "5": "v5", "6": "v6", "7": "v7", "8": "v8"}.get(variant, variant)
    elif arch == "amd64" and variant == "v1":
        variant = ""
    return "/".join(p for p in (os_name, arch, variant) if p)


def _split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """``ref`` normalised as Docker does: (repository with its domain, tag or None, digest or None)."""
    name, at, digest = ref.partition("@")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
    first, slash, _rest = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        name = "docker.io/" + name
    if name.startswith("docker.io/") and name.count("/") == 1:
        name = "docker.io/library/" + name.split("/", 1)[1]
    return name, tag, (digest if at else None)


def familiar_name(repository: str) -> str:
    """Docker's short form: ``docker.io/library/alpine`` → ``alpine``, ``docker.io/u/x`` → ``u/x``."""
    if repository.startswith("docker.io/"):
        repository = repository[len("docker.io/") :]
        if repository.startswith("library/") and repository.count("/") == 1:
            repository = repository[len("library/") :]
    return repository


def image_purl(ref: str, platform: str | None = None, *, local: bool = False) -> str:
    """The purl of image ``ref`` (BuildKit's ``RefToPURL``): type ``docker`` (``oci`` for a local image),
    the tag as version (``latest`` when the reference has neither tag nor digest), a ``digest`` qualifier
    when the reference pins one, and the normalised ``platform`` qualifier when given."""
    repository, tag, digest = _split_reference(ref)
    if tag is None and digest is None:
        tag = "latest"
    *namespace, name = familiar_name(repository).split("/")
    text = f"pkg:{'oci' if local else 'docker'}/"
    if namespace:
        text += "/".join(go_query_escape(part) for part in namespace) + "/"
    text += go_query_escape(name)
    if tag:
        text += "@" + go_path_escape(tag)
    qualifiers = []
    if digest:
        qualifiers.append(f"digest={go_path_escape(digest)}")
    if platform:
        qualifiers.append(f"platform={go_path_escape(normalize_platform(platform))}")
    if qualifiers:
        text += "?" + "&".join(qualifiers)
    return text
