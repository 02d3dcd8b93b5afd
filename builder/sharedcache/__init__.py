"""A build cache shared across machines: ``--cache-to`` exports cache records and their layers, ``--cache-from``
imports them lazily (buildx's surface; see `builder.sharedcache.spec`).

The exported form is one OCI artifact (`builder.sharedcache.artifact`): a manifest whose config blob is the JSON
index ``{key: {"parts", "result"}}`` (the records of `builder.cache`) and whose layers are the layer blobs
the records name, so a registry keeps them. It lives in a registry repository (``type=registry``) or in an
OCI layout directory (``type=local``); ``type=inline`` carries the records in the image's config instead.

Modules (this package imports none of them, so `errors` stays cheap for the executor):

* `spec`: parse ``type=registry,ref=…`` / ``type=local,src=…|dest=…`` / ``type=inline`` into a `CacheSpec`;
* `artifact`: the index and manifest documents (BuildKit's index layout or ``image-manifest=true``), and
  their validation when read back;
* `layerform`: the exported layers' compression and media types;
* `inline`: the records in an image's config (``type=inline``): `set_inline_cache` before the config is
  committed, `records_from_image` when ``--cache-from`` names an image;
* `remote`: `open_remote` reads a source's index at build start (a missing or unreachable source is a
  warning, never a failed build); a `RemoteCache` fetches one blob when asked;
* `session`: `SharedCache`, what one build holds — the imported indexes, the remote hits whose layers are
  not fetched yet, and the steps to export. A layer is fetched only when a step runs on top of it, a
  ``COPY --from`` reads it, or the final image contains it;
* `export`: write the artifact to a registry or a directory;
* `errors`: `RemoteLayerFailed`, raised when a promised layer cannot be fetched; the executor forgets that
  record and builds again, so the step runs locally instead of failing the build.
"""
