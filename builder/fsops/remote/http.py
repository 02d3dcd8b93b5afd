"""ADD of an http(s) URL, as BuildKit does it: the file is never unpacked, its mode is 0600, its mtime the
server's Last-Modified (else the Unix epoch), its name the last segment of the URL's path when the
destination is a directory. ``--checksum=sha256:<hex>`` is verified before anything is written to the image.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from builder.errors import BuildError
from builder.fsops import rootpath
from builder.fsops.remote.fetched import Fetched


def _file_name(url: str, response) -> str:
    disposition = response.headers.get("Content-Disposition", "")
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value.strip('"'):
            return posixpath.basename(value.strip('"'))
    name = posixpath.basename(unquote(urlsplit(url).path))
    return name or "__unnamed__"


def _mtime(response) -> int:
    header = response.headers.get("Last-Modified")
    if not header:
        return 0
    # email.utils costs every build ~9 ms to import; only a download with this header needs it
    from email.utils import parsedate_to_datetime

    try:
        return int(parsedate_to_datetime(header).timestamp())
    except (TypeError, ValueError):
        return 0


def fetch_url(url: str, directory: Path, *, checksum: str | None):
    """Download ``url`` into ``directory``; raises BuildError on an HTTP error or a checksum mismatch."""
    import requests

    from builder.fsops import copy as copy_ins

    if checksum is not None and not checksum.startswith("sha256:"):
        raise BuildError(f"unsupported --checksum {checksum!r}: expected sha256:<hex>")
    digest = hashlib.sha256()
    path = directory / "download"
    try:
        with requests.get(url, stream=True, timeout=60) as response:
            if response.status_code >= 400:
                raise BuildError(f"ADD {url}: invalid response status {response.status_code}")
            name, mtime = _file_name(url, response), _mtime(response)
            with open(path, "wb") as out:
                for chunk in response.iter_content(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    except requests.RequestException as error:
        raise BuildError(f"ADD {url}: {error}") from None
    actual = f"sha256:{digest.hexdigest()}"
    if checksum is not None and checksum != actual:
        raise BuildError(f"ADD {url}: digest mismatch: expected {checksum}, got {actual}")

    def place(root: Path, target: str, as_dir: bool, placement: copy_ins.Placement) -> None:
        final = posixpath.join(target, name) if as_dir else target
        copy_ins.make_dirs(root, posixpath.dirname(final), placement)
        host = rootpath.resolve_in_root(root, final)
        if host.is_dir():  # resolved: never a symlink here
            host = host / name
        rootpath.ensure_inside(root, host)
        if os.path.lexists(host):
            host.unlink()
        with open(path, "rb") as src, os.fdopen(rootpath.create_file(host), "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.lchown(host, placement.uid or 0, placement.gid or 0)
        os.chmod(host, placement.chmod(0o600, False) if placement.chmod else 0o600)
        os.utime(host, (mtime, mtime))

    return Fetched({url: f"url {actual} {mtime} {name}"}, place)
