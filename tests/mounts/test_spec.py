"""``--mount`` values parsed as BuildKit parses them. The error messages are BuildKit v0.13's (``docker build``
of Docker 26.1 with its built-in Dockerfile frontend, each value in ``RUN --mount=VALUE true``; every one
the same text). A secret's ``env`` is a later frontend's (v0.13 refuses it as an unknown key; pybuild keeps
it, README)."""

from __future__ import annotations

import pytest

from builder.mounts import MountSpecError, parse_mount, parse_step_mounts, resolve
from builder.mounts.spec import ram_in_bytes

PARSED = [
    ("target=/c", dict(type="bind", target="/c", readonly=True)),
    ("type=bind,target=/c,rw", dict(type="bind", readonly=False)),
    ("type=bind,target=/c,readwrite=true", dict(readonly=False)),
    ("type=bind,target=/c,rw=false", dict(readonly=True)),
    ("type=bind,dst=/c,src=/s,from=stage", dict(target="/c", source="/s", from_="stage")),
    ("type=bind,destination=/c,source=s", dict(target="/c", source="s")),
    ("TYPE=CACHE,Target=/c", dict(type="cache", target="/c", readonly=False)),
    ("type=cache,target=/c,ro", dict(type="cache", readonly=True)),
    ("type=cache,target=/c,readonly=1", dict(readonly=True)),
    ("type=cache,target=/c,sharing=LOCKED,id=x", dict(sharing="locked", id="x")),
    ("type=cache,target=/c,mode=0700,uid=1000,gid=50", dict(mode=0o700, uid=1000, gid=50)),
    ("type=cache,target=/c,mode=755", dict(mode=0o755)),
    ("type=tmpfs,target=/t", dict(type="tmpfs", readonly=False, size=0)),
    ("type=tmpfs,target=/t,size=64m", dict(size=64 * 1024 * 1024)),
    ("type=tmpfs,target=/t,size=1.5k", dict(size=1536)),
    ("type=secret,id=tok", dict(type="secret", id="tok", readonly=True, required=False)),
    ("type=secret,id=tok,required", dict(required=True)),
    ("type=secret,id=tok,required=false", dict(required=False)),
    ("type=secret,id=tok,env=TOKEN", dict(env="TOKEN")),
    ("type=secret,target=/run/x,mode=0440,uid=5,gid=6", dict(target="/run/x", mode=0o440, uid=5, gid=6)),
    ("type=ssh", dict(type="ssh", id="", required=False)),
    ("type=ssh,id=git,required=true,mode=0666", dict(id="git", required=True, mode=0o666)),
]


@pytest.mark.parametrize(("value", "fields"), PARSED, ids=[v for v, _ in PARSED])
def test_parsed_fields(value, fields):
    spec = parse_mount(value)
    for name, expected in fields.items():
        assert getattr(spec, name) == expected, name


ERRORS = [
    ("type=cache,target=/c,sharing=weird", 'unsupported sharing value "weird"'),
    ("type=bind,target=/c,mode=0700", 'mode not allowed for "bind" type mounts'),
    ("type=tmpfs,target=/c,uid=1", 'uid not allowed for "tmpfs" type mounts'),
    ("type=bind,target=/c,gid=1", 'gid not allowed for "bind" type mounts'),
    ("type=secret", "invalid secret mount. one of source, target required"),
    ("type=secret,source=a,id=b", "both source and id can't be set"),
    ("type=secret,id=a,from=x", "secret mount should not have a from"),
    ("type=secret,id=a,sharing=locked", "secret mount should not define sharing"),
    ("type=bind,target=/c,sharing=shared", "invalid cache sharing set for bind mount"),
    ("type=bind,target=/c,required", "unexpected key 'required' for mount type 'bind'"),
    ("type=cache,target=/c,required=true", "unexpected key 'required' for mount type 'cache'"),
    ("type=bind,target=/c,bogus", "invalid field 'bogus' must be a key=value pair"),
    ("type=bind,target=/c,bogus=1", "unexpected key 'bogus' in 'bogus=1'"),
    ("type=bind,target=/c,ro=maybe", "invalid value for ro: maybe"),
    ("type=bind,target=/c,rw=yes", "invalid value for rw: yes"),
    ("type=cache,target=/c,mode=9", "invalid value 9 for mode"),
    ("type=cache,target=/c,mode=0o755", "invalid value 0o755 for mode"),
    ("type=cache,target=/c,uid=-1", "invalid value -1 for uid"),
    ("type=cache,target=/c,gid=4294967296", "invalid value 4294967296 for gid"),
    ("type=ssh,source=x", "ssh does not support source"),
    ("type=nope,target=/c", 'unsupported mount type "nope"'),
    # written type=bind,"target=/c,d": the Buildfile parser has removed the quotes, as BuildKit's does
    ("type=bind,target=/c,d", "invalid field 'd' must be a key=value pair"),
    ("type=cache,,target=/c", "invalid field '' must be a key=value pair"),
    ("type=bind,target=/t,size=1m", "unexpected key 'size' for mount type 'bind'"),
    ("type=tmpfs,target=/t,size=lots", "invalid value for size: lots"),
    ("required,type=secret,id=a", "unexpected key 'required' for mount type 'bind'"),
]


@pytest.mark.parametrize(("value", "message"), ERRORS, ids=[v for v, _ in ERRORS])
def test_refused_with_buildkits_message(value, message):
    with pytest.raises(MountSpecError) as caught:
        parse_mount(value)
    assert caught.value.message == message
    assert caught.value.exit_code == 2


RESOLVED = [
    # (value, workdir, ssh index) -> (target, id); BuildKit: a relative target is below WORKDIR
    ("type=cache,target=/c", "/", 0, "/c", "/c"),
    ("type=cache,target=c2", "/work", 0, "/work/c2", "c2"),
    ("type=cache,target=/c/../d/", "/", 0, "/d", "/c/../d/"),
    ("type=bind,target=src,from=x", "/app", 0, "/app/src", "src"),
    ("type=secret,id=tok", "/", 0, "/run/secrets/tok", "tok"),
    ("type=secret,source=tok", "/", 0, "/run/secrets/tok", "tok"),
    ("type=secret,target=/etc/token", "/", 0, "/etc/token", "token"),
    ("type=secret,id=tok,env=T", "/", 0, "", "tok"),
    ("type=secret,id=tok,env=T,target=/f", "/", 0, "/f", "tok"),
    ("type=ssh", "/", 0, "/run/buildkit/ssh_agent.0", "default"),
    ("type=ssh,id=git", "/", 1, "/run/buildkit/ssh_agent.1", "git"),
    ("type=ssh,target=/s", "/", 0, "/s", "default"),
]


@pytest.mark.parametrize(("value", "workdir", "index", "target", "ident"), RESOLVED)
def test_defaults(value, workdir, index, target, ident):
    resolved = resolve(parse_mount(value), workdir, index)
    assert (resolved.target, resolved.id) == (target, ident)


@pytest.mark.parametrize("value", ["type=cache", "type=bind", "target=/", "type=tmpfs,target=/x/.."])
def test_a_mount_on_the_root_is_refused(value):
    with pytest.raises(MountSpecError, match='invalid mount target "/"'):
        resolve(parse_mount(value), "/", 0)


def test_step_mounts_count_ssh_mounts_and_locate_errors():
    mounts = parse_step_mounts(["type=ssh", "type=cache,target=/c", "type=ssh,id=b"], [None] * 3, "/")
    assert [m.target for m in mounts] == ["/run/buildkit/ssh_agent.0", "/c", "/run/buildkit/ssh_agent.1"]
    from builder.errors import Span

    span = Span("Buildfile", 3, 5)
    with pytest.raises(MountSpecError) as caught:
        parse_step_mounts(["type=cache,target=/c", "type=cache,mode=x,target=/d"], [None, span], "/")
    assert caught.value.span == span


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("512", 512), ("1k", 1024), ("1K", 1024), ("2kb", 2048), ("1KiB", 1024), ("3 m", 3 << 20)]
    + [("1g", 1 << 30), ("1.5t", 3 << 39), ("1p", 1 << 50)],
)
def test_sizes_use_binary_multipliers(text, size):
    assert ram_in_bytes(text) == size


@pytest.mark.parametrize("text", ["", "m", "1x", "-1", "1.2.3", "1 kk"])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        ram_in_bytes(text)
