"""``--cache-to`` / ``--cache-from`` values as buildx spells them, and the refusals a user sees."""

from __future__ import annotations

import pytest

from builder.errors import UsageError
from builder.sharedcache.spec import CacheSpec, parse_cache_spec


@pytest.mark.parametrize(
    ("text", "export", "expected"),
    [
        ("type=registry,ref=reg.io/app:cache", True, CacheSpec("registry", "reg.io/app:cache", True)),
        (
            "type=registry,ref=reg.io/app:cache,mode=max",
            True,
            CacheSpec("registry", "reg.io/app:cache", True, "max"),
        ),
        ("reg.io/app:cache", False, CacheSpec("registry", "reg.io/app:cache", False)),
        ("type=local,dest=/ci/cache,mode=min", True, CacheSpec("local", "/ci/cache", True)),
        ("type=local,src=/ci/cache", False, CacheSpec("local", "/ci/cache", False)),
        ("type=local,dest=d,ignore-error=true", True, CacheSpec("local", "d", True, ignore_error=True)),
        (
            "type=registry,ref=r/a:c,oci-mediatypes=true,compression=zstd",
            True,
            CacheSpec("registry", "r/a:c", True, compression="zstd"),
        ),
        (
            "type=registry,ref=r/a:c,image-manifest=true,compression=uncompressed,ignore-error=1",
            True,
            CacheSpec("registry", "r/a:c", True, ignore_error=True, image_manifest=True, compression="none"),
        ),
        (
            "type=local,dest=d,oci-mediatypes=false,compression-level=3,force-compression=true",
            True,
            CacheSpec(
                "local",
                "d",
                True,
                oci_mediatypes=False,
                compression="gzip",
                compression_level=3,
                force_compression=True,
            ),
        ),
        ("type=inline", True, CacheSpec("inline", "", True)),
        ("type=inline,mode=min", True, CacheSpec("inline", "", True)),
    ],
)
def test_accepted(text: str, export: bool, expected: CacheSpec) -> None:
    assert parse_cache_spec(text, export=export) == expected


@pytest.mark.parametrize(
    ("text", "export", "message"),
    [
        ("type=gha", True, "unsupported --cache-to type 'gha'"),
        ("ref=reg.io/a:b", False, "unsupported --cache-from type (none)"),
        ("type=registry", False, "--cache-from type=registry needs ref=REPO:TAG"),
        ("type=local,src=/x", True, "--cache-to type=local needs dest=DIR"),
        ("type=local,dest=/x", False, "--cache-from type=local needs src=DIR"),
        ("type=local,dest=/x,mode=all", True, "invalid --cache-to mode 'all'"),
        ("type=local,dest=/x,colour=red", True, "unknown --cache-to option 'colour'"),
        ("type=registry,ref=UPPER/Case:x", True, "invalid --cache-to ref"),
        ("type=local,dest", True, "expected key=value pairs"),
        ("type=inline", False, "an inline cache is read from its image, --cache-from type=registry,ref=IMAGE"),
        ("type=inline,mode=max", True, "--cache-to type=inline supports mode=min only"),
        ("type=inline,compression=zstd", True, "unknown --cache-to option 'compression' for type=inline"),
        ("type=registry,ref=r/a:c,compression=lz4", False, "unknown --cache-from option 'compression'"),
        ("type=registry,ref=r/a:c,compression=lz4", True, "invalid --cache-to compression 'lz4'"),
        ("type=registry,ref=r/a:c,compression=zstd,compression-level=30", True, "out of range for zstd (0-22)"),
        ("type=registry,ref=r/a:c,image-manifest=maybe", True, "invalid --cache-to image-manifest 'maybe'"),
        (
            "type=registry,ref=r/a:c,image-manifest=true,oci-mediatypes=false",
            True,
            "image-manifest=true needs oci-mediatypes=true",
        ),
        ("type=local,src=/x,mode=max", False, "unknown --cache-from option 'mode'"),
    ],
)
def test_refused(text: str, export: bool, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_cache_spec(text, export=export)
    assert message in caught.value.message


def test_spec_reads_back_as_written() -> None:
    assert str(parse_cache_spec("type=local,src=/c", export=False)) == "type=local,src=/c"
    assert str(parse_cache_spec("r.io/a:b", export=True)) == "type=registry,ref=r.io/a:b"


@pytest.mark.root  # the CLI in a child process
def test_the_cli_refuses_a_bad_spec_with_exit_code_2(tmp_path) -> None:
    import subprocess
    import sys

    from tests.build.conftest import REPO

    (tmp_path / "Buildfile").write_text("FROM scratch\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "builder",
            "--root",
            str(tmp_path / "s"),
            "build",
            "--cache-to",
            "type=s3",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 2 and "unsupported --cache-to type 's3'" in result.stderr


@pytest.mark.parametrize(
    ("value", "inline"), [("1", True), ("true", True), ("T", True), ("0", False), ("yes", False)]
)
def test_the_buildkit_inline_cache_build_arg_reads_as_buildx_reads_it(value: str, inline: bool) -> None:
    from builder.sharedcache.spec import with_inline_build_arg

    targets = with_inline_build_arg([], {"BUILDKIT_INLINE_CACHE": value})
    assert targets == ([CacheSpec("inline", "", True)] if inline else [])
    # never twice
    assert with_inline_build_arg(targets, {"BUILDKIT_INLINE_CACHE": value}) == targets
