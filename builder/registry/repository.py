"""One repository at a registry: manifests by reference, blobs by digest — the generic operations pull, push
and a registry cache are built from.

Contracts:

* `Repository.get_manifest` returns the exact bytes the registry sent and their digest, verified: against
  the digest asked for (``name@sha256:…``), else against the ``Docker-Content-Digest`` header when sent;
* `Repository.fetch_blob` streams a blob into the store through ``store.blob_writer(expected=digest,
  expected_size=size)``: a blob that does not match is refused (`DigestMismatch`) and nothing is stored.
  An interrupted transfer resumes with ``Range`` from the byte reached; a server that ignores ``Range``
  makes it start over;
* `Repository.mount_blob` makes the repository hold a blob by a cross-repository mount, without sending it;
  when the registry opens an upload session instead (202), the next `push_blob` of that blob uses it;
* `Repository.push_blob` uploads a stored blob unless the registry has it (HEAD), mounting it from another
  repository of the same registry when one is named; a blob larger than ``chunk_size`` goes up in chunks
  (PATCH with ``Content-Range``), a smaller one in a single PUT;
* `Repository.put_manifest` sends the bytes as they are (the digest is theirs) and returns that digest.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from builder import diskfull
from builder.oci import media
from builder.oci.schemas import MAX_DOCUMENT
from builder.registry.client import TRANSIENT_ERRORS, RegistryClient, describe
from builder.registry.errors import RegistryError
from builder.store.errors import StoreError

MANIFEST_ACCEPT = ", ".join(
    [media.OCI_MANIFEST, media.OCI_INDEX, media.DOCKER_MANIFEST, media.DOCKER_MANIFEST_LIST]
)
#: Blobs larger than this are uploaded in chunks of this size.
DEFAULT_CHUNK_SIZE = 16 << 20
_READ = 1 << 20
_STREAM_READ = 64 << 10
#: Attempts to finish one blob transfer that keeps breaking without progress.
_STALLED_ATTEMPTS = 5
#: Upload sessions tried for one blob before giving up.
_UPLOAD_SESSIONS = 3
_BROKEN_SESSION_CODES = frozenset({"BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "RANGE_INVALID"})

#: Called with the number of bytes just transferred (progress bars).
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest or index as the registry holds it: exact bytes, media type, digest."""

    data: bytes
    media_type: str
    digest: str


class Repository:
    """``client`` + a repository path (``library/busybox``). Cheap; make one per operation. Blob operations
    on distinct digests may run in parallel threads."""

    def __init__(self, client: RegistryClient, path: str) -> None:
        self.client = client
        self.path = path
        self.pull_scope = f"repository:{path}:pull"
        self.push_scope = f"repository:{path}:pull,push"
        #: digest → Location of the upload session a refused mount opened, for `push_blob` to use
        self._sessions: dict[str, str] = {}

    def __str__(self) -> str:
        return f"{self.client.domain}/{self.path}"

    # -- manifests -----------------------------------------------------------------------------------------

    def get_manifest(self, reference: str, *, push: bool = False) -> Manifest:
        """The manifest or index at ``reference`` (a tag or a ``sha256:`` digest), verified.
        Raises `NotFound` if the registry has no such manifest."""
        response = self.client.request(
            "GET",
            f"/v2/{self.path}/manifests/{reference}",
            scopes=[self.push_scope if push else self.pull_scope],
            headers={"Accept": MANIFEST_ACCEPT},
            stream=True,
        )
        with response:
            self.client.expect(response, (200,), f"manifest {self}:{reference}")
            try:
                data = _read_limited(response, MAX_DOCUMENT, f"manifest {self}:{reference}")
            except TRANSIENT_ERRORS as exc:
                raise RegistryError(
                    f"manifest {self}:{reference}: the answer broke off ({describe(exc)})"
                ) from None
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        expected = (
            reference if reference.startswith("sha256:") else response.headers.get("Docker-Content-Digest")
        )
        if expected and expected.startswith("sha256:") and expected != digest:
            raise RegistryError(f"manifest {self}:{reference} has digest {digest}, expected {expected}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Manifest(data, media_type, digest)

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        """PUT ``data`` as the manifest at ``reference`` (tag or its own digest); returns its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        response = self.client.request(
            "PUT",
            f"/v2/{self.path}/manifests/{reference}",
            scopes=[self.push_scope],
            headers={"Content-Type": media_type},
            body=data,
        )
        self.client.expect(response, (200, 201, 202), f"push manifest {self}:{reference}")
        stated = response.headers.get("Docker-Content-Digest")
        if stated and stated != digest:
            raise RegistryError(
                f"{self.client.domain} stored manifest {self}:{reference} as {stated}, not {digest}"
            )
        return digest

    # -- blobs ---------------------------------------------------------------------------------------------

    def blob_size(self, digest: str, *, push: bool = False) -> int | None:
        """HEAD the blob: its size if the registry has it in this repository, else None."""
        response = self.client.request(
            "HEAD", f"/v2/{self.path}/blobs/{digest}", scopes=[self.push_scope if push else self.pull_scope]
        )
        response.close()
        if response.status_code == 404:
            return None
        self.client.expect(response, (200,), f"blob {digest} in {self}")
        length = response.headers.get("Content-Length")
        return int(length) if length and length.isdigit() else -1

    def fetch_blob(self, store, digest: str, size: int | None, progress: Progress | None = None) -> str:
        """Download the blob into the store (verified; see the module docstring); returns its digest.

        ``size`` is the size its descriptor declares: the download stops (`RegistryError` naming the blob)
        as soon as the registry sends more, so an endless answer cannot fill the disk; ``None`` (no
        descriptor) allows at most `MAX_DOCUMENT` bytes. A blob the store has already is not fetched again,
        but must have ``size`` bytes: a descriptor that misstates it is refused the same way."""
        if store.has_blob(digest):
            stored = store.blob_size(digest)
            if size is not None and stored != size:
                raise RegistryError(
                    f"blob {digest} of {self} has {stored} bytes, but its descriptor says {size}; refusing it"
                )
            if progress is not None and size:
                progress(size)
            return digest
        with diskfull.naming(f"blob {digest} from {self} in the store at {store.root}"):
            return self._download(store, digest, size, progress)

    def _download(self, store, digest: str, size: int | None, progress: Progress | None) -> str:
        stalls = 0
        while True:
            with store.blob_writer(expected=digest, expected_size=size) as writer:
                restart = False
                while not restart:
                    before = writer.size
                    try:
                        restart = not self._fetch_from(writer, digest, size, progress)
                        if not restart:
                            return _commit(writer, digest, self)
                    except TRANSIENT_ERRORS as exc:
                        stalls = stalls + 1 if writer.size == before else 0
                        if stalls >= _STALLED_ATTEMPTS:
                            raise RegistryError(
                                f"download of blob {digest} from {self} keeps failing: {describe(exc)}"
                            ) from None
                        time.sleep(self.client.backoff * (2 ** min(stalls, 4)))

    def _fetch_from(self, writer, digest: str, size: int | None, progress: Progress | None) -> bool:
        """Continue the download at ``writer.size``; False if the server sent the whole blob again (so the
        caller starts over with a fresh writer), True when the blob is complete."""
        offset = writer.size
        if size is not None and offset >= size:
            return True  # the connection broke after the last byte: nothing is missing
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = self.client.request(
            "GET", f"/v2/{self.path}/blobs/{digest}", scopes=[self.pull_scope], headers=headers, stream=True
        )
        with response:
            self.client.expect(response, (200, 206), f"blob {digest} of {self}")
            if offset and response.status_code != 206:
                if progress is not None:
                    progress(-offset)
                return False
            limit = MAX_DOCUMENT if size is None else size
            # Small reads: the bytes of a read that breaks off are lost, and a resume starts after the last.
            for chunk in response.iter_content(_STREAM_READ):
                if writer.size + len(chunk) > limit:
                    declared = f"the {size} bytes its descriptor declares" if size is not None else None
                    raise RegistryError(
                        f"blob {digest} from {self} is longer than {declared or f'{limit >> 20} MiB'}; "
                        "download stopped, nothing was stored"
                    )
                writer.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        return True

    def push_blob(
        self,
        store,
        digest: str,
        size: int,
        *,
        mount_from: Sequence[str] = (),
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        progress: Progress | None = None,
    ) -> str:
        """Make the registry hold the stored blob in this repository. Returns how: ``"exists"`` (HEAD found
        it), ``"mounted"`` (from a repository in ``mount_from``) or ``"uploaded"``."""
        if self.blob_size(digest, push=True) is not None:
            return "exists"
        for source in mount_from:
            if self.mount_blob(digest, source):
                return "mounted"
            if digest in self._sessions:
                break  # the registry answered with an upload session: upload through it
        location = self._sessions.pop(digest, None)
        path = store.blob_path(digest)
        # request() already retries each request; this loop starts a fresh upload session when the one in
        # progress is broken (a transfer cut half-way can leave it unusable).
        for attempt in range(_UPLOAD_SESSIONS):
            try:
                if location is None:
                    location = self._start_upload()
                if size > chunk_size:
                    self._upload_chunked(location, path, digest, size, chunk_size, progress)
                else:
                    self._upload_whole(location, path, digest, size, progress)
                return "uploaded"
            except RegistryError as exc:
                if not _session_broken(exc) or attempt + 1 >= _UPLOAD_SESSIONS:
                    raise
                location = None
                time.sleep(self.client.backoff * (2**attempt))
        raise AssertionError("unreachable")

    def mount_blob(self, digest: str, source: str) -> bool:
        """Ask the registry to mount ``digest`` from the repository ``source`` of the same registry into this
        one; True if it did (201). False, without a request, when ``source`` is this repository, and False
        when the registry refuses or answers with an upload session (202: ``source`` lacks the blob or may not
        be read); that session is kept for the next `push_blob` of ``digest`` (unused, it expires on the
        registry's side)."""
        if source == self.path:
            return False
        response = self.client.request(
            "POST",
            f"/v2/{self.path}/blobs/uploads/",
            scopes=[self.push_scope, f"repository:{source}:pull"],
            params={"mount": digest, "from": source},
        )
        response.close()
        if response.status_code == 201:
            return True
        location = response.headers.get("Location")
        if response.status_code == 202 and location:
            self._sessions[digest] = location
        return False

    def _start_upload(self) -> str:
        response = self.client.request("POST", f"/v2/{self.path}/blobs/uploads/", scopes=[self.push_scope])
        response.close()
        self.client.expect(response, (202,), f"start upload to {self}")
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"{self.client.domain} started an upload to {self} without a Location")
        return location

    def _upload_whole(self, location: str, path, digest: str, size: int, progress: Progress | None) -> None:
        response = self.client.request(
            "PUT",
            _with_query(location, digest=digest),
            scopes=[self.push_scope],
            headers={"Content-Type": "application/octet-stream"},
            body=lambda: (_Slice(path, 0, size, progress), size),
        )
        response.close()
        self.client.expect(response, (201, 204), f"upload blob {digest} to {self}")

    def _upload_chunked(
        self, location: str, path, digest: str, size: int, chunk_size: int, progress: Progress | None
    ) -> None:
        offset = 0
        while offset < size:
            length = min(chunk_size, size - offset)
            start = offset
            response = self.client.request(
                "PATCH",
                location,
                scopes=[self.push_scope],
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{start}-{start + length - 1}",
                },
                body=lambda start=start, length=length: (_Slice(path, start, length, progress), length),
            )
            response.close()
            self.client.expect(response, (202,), f"upload blob {digest} to {self}")
            location = response.headers.get("Location") or location
            offset += length
        response = self.client.request(
            "PUT",
            _with_query(location, digest=digest),
            scopes=[self.push_scope],
            headers={"Content-Type": "application/octet-stream", "Content-Length": "0"},
        )
        response.close()
        self.client.expect(response, (201, 204), f"finish upload of blob {digest} to {self}")


class _Slice:
    """``length`` bytes of a file from ``start``, as a stream requests can send with a Content-Length.

    Deliberately not an `io` class: requests measures a body with ``len()`` minus ``tell()``, and an io
    stream that cannot tell would make it fall back to a chunked body."""

    def __init__(self, path, start: int, length: int, progress: Progress | None) -> None:
        self.closed = False
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._file.seek(start)
        self._left = length
        self._length = length
        self._progress = progress

    def __len__(self) -> int:
        return self._left

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._file.read(min(n, _READ))
        self._left -= len(data)
        if self._progress is not None and data:
            self._progress(len(data))
        return data

    def close(self) -> None:
        if not self.closed:
            sent = self._length - self._left
            if self._left and self._progress is not None and sent:
                self._progress(-sent)  # an attempt that broke off: its bytes will be sent again
            self._file.close()
            self.closed = True


def _session_broken(exc: RegistryError) -> bool:
    """True for a failure a fresh upload session may cure (not for refusals such as a bad digest)."""
    if exc.status is None:
        return False  # unreachable: request() has retried already
    return exc.status >= 500 or exc.status == 416 or exc.code in _BROKEN_SESSION_CODES


def _commit(writer, digest: str, repository: Repository) -> str:
    try:
        return writer.commit()[0]
    except StoreError as exc:
        raise RegistryError(
            f"blob {digest} from {repository} was refused: {exc.message}; nothing was stored"
        ) from None


def _with_query(location: str, **extra: str) -> str:
    parts = urlsplit(location)
    query = parts.query + ("&" if parts.query else "") + urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _read_limited(response, limit: int, what: str) -> bytes:
    data = bytearray()
    for chunk in response.iter_content(_READ):
        data += chunk
        if len(data) > limit:
            raise RegistryError(f"{what} is larger than {limit >> 20} MiB; refusing it")
    return bytes(data)
