"""The registry client: OCI distribution over requests — pull, push, login.

Modules, each importable on its own (this package imports none of them):

* `names`: reference domain → `Endpoint` (Docker Hub's host, HTTPS or plain HTTP, the credential key);
* `credentials`: Docker's ``config.json`` (``auths``, ``credHelpers``/``credsStore`` helpers);
* `auth`: the ``WWW-Authenticate`` challenge, Bearer tokens and Basic auth;
* `client`: `RegistryClient` — requests with authentication, retries and backoff;
* `repository`: `Repository` — manifests by reference, blobs by digest (verified fetch with Range resume,
  HEAD/mount/monolithic/chunked upload): the generic operations a registry cache is built from too;
* `pull`: `pull_image`, `ensure_image` (FROM's ``--pull`` policy); `push`: `push_image`;
* `sources`: which repositories hold a blob (for cross-repository mounts); `progress`: tqdm or plain lines.
"""
