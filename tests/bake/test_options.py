"""A resolved bake target → BuildOptions: every key mapped, the ones pybuild cannot honour refused by name
(pure: no root), and the order `build_many` builds linked targets in."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from builder.bake.model import Target
from builder.bake.options import Globals, TargetLink, to_build_options
from builder.bake.run import build_order
from builder.buildtypes import BuildOptions
from builder.errors import BuildError, render
from builder.namedcontexts import NamedContext


def options(tmp_path: Path, **values) -> BuildOptions:
    (tmp_path / "ctx").mkdir(exist_ok=True)
    (tmp_path / "dir").mkdir(exist_ok=True)
    (tmp_path / "secret.txt").write_text("s3cret")
    target = Target(
        "t", context=values.pop("context", "ctx"), dockerfile=values.pop("dockerfile", "Dockerfile")
    )
    for key, value in values.items():
        setattr(target, key, value)
    with ExitStack() as stack:
        return to_build_options(target, Globals(root=str(tmp_path / "store"), cwd=tmp_path), stack)


def test_every_key_is_mapped(tmp_path):
    built = options(
        tmp_path,
        dockerfile="sub/App.Dockerfile",
        args={"A": "1", "UNSET": None},
        labels={"l": "v"},
        tags=["app:1", "app:latest"],
        target="final",
        platforms=["linux/amd64", "linux/arm64"],
        pull=True,
        no_cache=True,
        no_cache_filter=["Build"],
        cache_from=["type=local,src=cache", "reg.local/app:cache"],
        cache_to=["type=local,dest=cache-out,mode=max"],
        secret=["id=tok,src=secret.txt", "id=env,env=HOME"],
        ssh=["default=agent.sock"],
        output=["type=docker", "type=oci,dest=out.tar", "type=image,push=true"],
        annotations=["manifest:org.opencontainers.image.title=t"],
        shm_size="128m",
        ulimits=["nofile=1024:2048"],
        contexts={"base": "target:other", "img": "docker-image://busybox:latest", "files": "dir"},
        network="none",
    )
    assert built.context == tmp_path / "ctx"
    assert built.buildfile == tmp_path / "ctx/sub/App.Dockerfile"
    assert built.buildfile_name == "ctx/sub/App.Dockerfile"
    assert built.build_args == {"A": "1"}
    assert built.labels == {"l": "v"}
    assert built.tags == ["app:1", "app:latest"]
    assert built.target == "final"
    assert built.platform == "linux/amd64,linux/arm64"
    assert built.pull == "always"
    assert built.no_cache is True
    assert built.no_cache_filter == ["build"]
    assert built.network == "none"
    assert [(c.type, c.location) for c in built.cache_from] == [
        ("local", str(tmp_path / "cache")),
        ("registry", "reg.local/app:cache"),
    ]
    assert [(c.type, c.location, c.mode) for c in built.cache_to] == [
        ("local", str(tmp_path / "cache-out"), "max")
    ]
    assert [(s.id, s.path, s.env) for s in built.secrets] == [
        ("tok", str(tmp_path / "secret.txt"), None),
        ("env", None, "HOME"),
    ]
    assert [(s.id, s.paths) for s in built.ssh] == [("default", (str(tmp_path / "agent.sock"),))]
    # type=docker without dest is buildx's --load: the store holds every result, so no extra output
    assert [(o.type, o.dest, o.push) for o in built.outputs] == [
        ("oci", str(tmp_path / "out.tar"), False),
        ("image", None, True),
    ]
    assert all(o.annotations for o in built.outputs)
    assert built.run_options.shm_size == 128 * 1024 * 1024
    assert [(u.name, u.soft, u.hard) for u in built.run_options.ulimits] == [("nofile", 1024, 2048)]
    assert built.named_contexts["base"] == TargetLink("base", "other")
    assert built.named_contexts["img"] == NamedContext("img", image="busybox:latest")
    assert built.named_contexts["files"] == NamedContext("files", directory=tmp_path / "dir")


def test_defaults(tmp_path):
    built = options(tmp_path)
    assert (built.pull, built.no_cache, built.platform, built.network) == ("missing", False, None, "default")
    assert built.buildfile == tmp_path / "ctx/Dockerfile"
    assert built.outputs == [] and built.named_contexts == {}


def test_inline_dockerfile(tmp_path):
    built = options(tmp_path, dockerfile_inline="FROM busybox\n")
    assert built.buildfile_text == "FROM busybox\n"
    assert built.buildfile_name == "Dockerfile"


REFUSED = [
    ({"network": "bridge"}, "network 'bridge' is not supported (default, host or none)"),
    (
        {"attest": ["type=sbom,generator=docker/buildkit-syft-scanner"]},
        "--attest type=sbom,generator=docker/buildkit-syft-scanner: generator=",
    ),
    ({"output": ["type=cacheonly"]}, "unsupported output type 'cacheonly'"),
    ({"cache_to": ["type=gha"]}, "unsupported --cache-to type 'gha'"),
    ({"context": "missing"}, "build context 'missing' is not a directory"),
]


@pytest.mark.parametrize(("values", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_what_pybuild_cannot_honour_is_refused(tmp_path, values, message):
    with pytest.raises(BuildError) as caught:
        options(tmp_path, **values)
    assert render(caught.value).splitlines()[0].startswith(f'target "t": error: {message}')


def test_attestations_switched_off_are_accepted(tmp_path):
    assert options(tmp_path, attest=["type=sbom,disabled=true"]).attestations is None


def test_attestations_are_requested_as_the_build_flags_request_them(tmp_path):
    request = options(tmp_path, attest=["type=provenance,mode=max", "type=sbom"]).attestations
    assert request.provenance.mode == "max" and request.sbom is not None


def _request(name: str, *links: str) -> tuple[str, BuildOptions]:
    named = {f"c{i}": TargetLink(f"c{i}", link) for i, link in enumerate(links)}
    return name, BuildOptions(context=Path("/"), named_contexts=named)


def test_linked_targets_are_built_first():
    order = build_order([_request("app", "base", "tools"), _request("tools", "base"), _request("base")])
    assert [name for name, _ in order] == ["base", "tools", "app"]


def test_a_link_to_a_target_not_requested_is_refused():
    with pytest.raises(BuildError, match="its context target:gone names no target of this bake"):
        build_order([_request("app", "gone")])
