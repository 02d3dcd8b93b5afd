"""``RUN --mount``: bind, cache, tmpfs, secret and ssh mounts, as BuildKit's Dockerfile frontend has them.

Interface::

    parse_mount(value) -> MountSpec                 one --mount value (MountSpecError: BuildKit's message)
    resolve(spec, workdir, ssh_index) -> ResolvedMount   defaults: absolute target, id
    parse_step_mounts(values, spans, workdir) -> [ResolvedMount]   a step's, errors located at the flag
    mount_contents(mounts, inputs) -> [str | None]  the content digests the step's cache key holds of them
    mounted(mounts, inputs, env_names=...)          (context manager) -> Mounted(mounts, env, state_dir)
    parse_secret(text) -> SecretSource              --secret id=ID,src=PATH | id=ID,env=VAR
    parse_ssh(text) -> SshSource                    --ssh default | ID=SOCKET | ID=KEY[,KEY]
    parse_allow(values) -> [str]                    --allow security.insecure | network.host
    clear_cache_mounts(store) -> (count, bytes)     what ``pybuild prune`` clears of cache mounts

Where things live: cache-mount directories in the store (``state/cache-mounts``, see `cachedirs`); secret
bytes and agent sockets only in a tmpfs outside the store for the duration of one step (see `secrets`);
bind sources of stages and images on a throwaway overlay whose upper directory is discarded.
"""

from __future__ import annotations

from builder.errors import UsageError
from builder.lazyexports import install

# Names are imported from their module on first use (PEP 562): a cached RUN needs `mount_contents` for its key,
# not the secret and agent plumbing (sockets, subprocess) that only a step being run uses.
_WHERE = {
    "CacheDirs": "cachedirs",
    "clear_cache_mounts": "cachedirs",
    "SecretSource": "secrets",
    "SshSource": "secrets",
    "parse_secret": "secrets",
    "parse_ssh": "secrets",
    "MountSpec": "spec",
    "MountSpecError": "spec",
    "ResolvedMount": "spec",
    "parse_mount": "spec",
    "resolve": "spec",
    "Mounted": "step",
    "MountInputs": "step",
    "mount_contents": "step",
    "mounted": "step",
    "parse_step_mounts": "step",
}


install(__name__, _WHERE)


#: The entitlements ``--allow`` grants; BuildKit's names.
ENTITLEMENTS = ("security.insecure", "network.host")


def parse_allow(values) -> list[str]:
    """``--allow`` values (each may hold several, comma-separated), checked against `ENTITLEMENTS`."""
    allowed: list[str] = []
    for value in values:
        for name in (v.strip() for v in str(value).split(",")):
            if name not in ENTITLEMENTS:
                raise UsageError(f"invalid entitlement {name!r}: use {' or '.join(ENTITLEMENTS)}")
            if name not in allowed:
                allowed.append(name)
    return allowed


__all__ = [
    "ENTITLEMENTS",
    "CacheDirs",
    "MountInputs",
    "MountSpec",
    "MountSpecError",
    "Mounted",
    "ResolvedMount",
    "SecretSource",
    "SshSource",
    "mount_contents",
    "clear_cache_mounts",
    "mounted",
    "parse_allow",
    "parse_mount",
    "parse_secret",
    "parse_ssh",
    "parse_step_mounts",
    "resolve",
]
