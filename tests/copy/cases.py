"""COPY/ADD cases shared by the tests and the recorder: a Buildfile and the context it is built in.

A case's context is made from plain data (text files, modes, symlinks, tar archives) so the same bytes are
built by pybuild in the tests and by BuildKit when recording (``record_buildkit.py``).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

BASE = "busybox:latest"
PASSWD = "RUN echo 'app:x:1234:2345::/:/bin/sh' >> /etc/passwd && echo 'grp:x:3456:' >> /etc/group\n"


@dataclass(frozen=True)
class Case:
    """``files``: relative path → text; ``modes``: path → permission bits; ``links``: path → target;
    ``archives``: path → (compression, {member: text}; a text ``HARDLINK:name`` makes the member a hard link
    to ``name``); ``dirs``: empty directories; ``hardlinks``: path → an earlier file it is a hard link to;
    ``ignore``: the ``.dockerignore`` text (None: no file)."""

    buildfile: str
    files: dict[str, str] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    archives: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    dirs: tuple[str, ...] = ()
    ignore: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # files written beside the context (outside it)
    hardlinks: dict[str, str] = field(default_factory=dict)
    fifos: tuple[str, ...] = ()  # named pipes made in the context


def tar_bytes(compression: str, members: dict[str, str]) -> bytes:
    """A tar archive of ``members`` (a name ending in ``/`` is a directory), fixed mtimes, compressed."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, text in members.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = 1_600_000_000
            info.uid, info.gid = 1000, 1000
            if name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o750
                tar.addfile(info)
            elif text.startswith("HARDLINK:"):
                info.type, info.mode, info.linkname = tarfile.LNKTYPE, 0o640, text.removeprefix("HARDLINK:")
                tar.addfile(info)
            else:
                data = text.encode()
                info.size, info.mode = len(data), 0o640
                tar.addfile(info, io.BytesIO(data))
    data = raw.getvalue()
    if compression == "gz":
        return gzip.compress(data, mtime=0)
    if compression == "bz2":
        return bz2.compress(data)
    if compression == "xz":
        return lzma.compress(data)
    if compression == "zst":
        return zstandard.ZstdCompressor().compress(data)
    return data


def make_context(case: Case, directory: Path) -> Path:
    """Write ``case``'s context (with its Buildfile) into ``directory/ctx``; returns the context path."""
    context = directory / "ctx"
    context.mkdir(parents=True)
    (context / "Buildfile").write_text(case.buildfile)
    for name, text in case.files.items():
        path = context / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for name in case.dirs:
        (context / name).mkdir(parents=True, exist_ok=True)
    for name, (compression, members) in case.archives.items():
        (context / name).write_bytes(tar_bytes(compression, members))
    for name, target in case.links.items():
        path = context / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    for name in case.fifos:
        os.mkfifo(context / name, 0o640)
    for name, target in case.hardlinks.items():
        os.link(context / target, context / name)
    for name, mode in case.modes.items():
        os.chmod(context / name, mode)
    for name, text in case.extra.items():
        (directory / name).write_text(text)
    if case.ignore is not None:
        (context / ".dockerignore").write_text(case.ignore)
    # Fixed times, so a recorded directory mtime is not an accident of when the test ran.
    for root, dirnames, filenames in os.walk(context):
        for name in dirnames + filenames:
            os.utime(os.path.join(root, name), (1_500_000_000, 1_500_000_000), follow_symlinks=False)
    os.utime(context, (1_500_000_000, 1_500_000_000))
    return context


FILES = {
    "a.txt": "hi\n",
    "b.txt": "bee\n",
    "dir/c.txt": "sea\n",
    "dir/sub/d.txt": "dee\n",
    "x.sh": "#!/bin/sh\n",
}

CASES: dict[str, Case] = {
    "several-sources": Case(
        f"FROM {BASE}\nCOPY a.txt b.txt /dst/\nCOPY a.txt b.txt /two\nCOPY a.txt dir /mixed/\n", FILES
    ),
    "wildcards": Case(
        f"FROM {BASE}\nCOPY *.txt /w/\nCOPY d?r/*.txt /w2/\nCOPY [ab].txt /w3/\nCOPY */sub /w4/\n"
        "COPY *.nomatch /w5/\nCOPY [^a].txt /w6/\nCOPY \\*.txt /w7/\n",
        {**FILES, "*.txt": "star\n"},
    ),
    "wildcard-dest-file": Case(f"FROM {BASE}\nCOPY a*.txt /single\nCOPY [ab].txt /f\n", FILES),
    "missing-source": Case(f"FROM {BASE}\nCOPY nomatch /x/\n", FILES),
    "dir-contents": Case(
        f"FROM {BASE}\nCOPY dir /x/\nCOPY dir /y\nCOPY dir/ /z/\nCOPY . /all/\nCOPY dir/sub /tmp\n",
        FILES,
        modes={"dir": 0o700, "dir/sub": 0o750, "x.sh": 0o755},
    ),
    "trailing-slash": Case(
        f"FROM {BASE}\nCOPY a.txt /t\nCOPY a.txt /t2/\nCOPY a.txt /tmp\nCOPY a.txt /bin/\nCOPY a.txt /n/.\n",
        FILES,
    ),
    "workdir-relative": Case(
        f"FROM {BASE}\nWORKDIR /app\nCOPY a.txt .\nCOPY a.txt sub/\nCOPY b.txt rel/b\nCOPY dir ./d\n"
        "WORKDIR /app/deep\nCOPY a.txt ../up.txt\n",
        FILES,
    ),
    "missing-parents": Case(
        f"FROM {BASE}\nCOPY a.txt /p/q/r/a.txt\nCOPY --chown=5:6 a.txt /o/p/\nCOPY --chown=7 dir /k/l\n"
        "COPY --chown=8:9 b.txt /tmp/new/b\n",
        FILES,
    ),
    "chown-names": Case(
        f"FROM {BASE}\n{PASSWD}COPY --chown=app a.txt /o1\nCOPY --chown=app:grp a.txt /o2\n"
        "COPY --chown=1234:grp a.txt /o3\nCOPY --chown=app:0 dir /o4/\n",
        FILES,
    ),
    # fields runc's parser reads as 0: a uid, gid or group id that is not a number
    "chown-odd-passwd": Case(
        f"FROM {BASE}\nRUN echo 'odd:x:abc:0::/:/bin/sh' >> /etc/passwd && echo 'half:x:77:xyz::/:/bin/sh' "
        ">> /etc/passwd && echo 'short:x:88' >> /etc/passwd && echo 'ogrp:x:nan:' >> /etc/group\n"
        "COPY --chown=odd a.txt /o1\nCOPY --chown=half a.txt /o2\nCOPY --chown=half:ogrp a.txt /o3\n"
        "COPY --chown=short a.txt /o4\n",
        FILES,
    ),
    "chown-unknown": Case(f"FROM {BASE}\nCOPY --chown=ghost a.txt /o1\n", FILES),
    "chmod-octal": Case(
        f"FROM {BASE}\nCOPY --chmod=0751 a.txt /m1\nCOPY --chmod=700 dir /m2/\nCOPY --chmod=4755 x.sh /m3\n"
        "COPY --chmod=644 --chown=3:4 dir /m4/\n",
        FILES,
    ),
    "from-stage": Case(
        f"FROM {BASE} AS base\n{PASSWD}RUN mkdir -p /out/in && echo o > /out/in/f && chown -R 1234:2345 /out "
        "&& ln -s in/f /out/lnk\n"
        f"FROM {BASE}\nCOPY --from=base /out /s1/\nCOPY --from=0 /out/in/f /s2\nCOPY --from=base /out/lnk /s3\n"
        f"COPY --from={BASE} /bin/sh* /s4/\nCOPY --from=base --chown=1:1 /out /s5\n",
        FILES,
    ),
    "from-missing-image": Case(f"FROM {BASE}\nCOPY --from=nosuch:image /x /x\n", FILES),
    "symlinks": Case(
        f"FROM {BASE}\nCOPY . /ctx/\nCOPY ln /ln\nCOPY dirlink /dl/\nCOPY dirlink /dl2\nCOPY lndir /ld/\n",
        FILES,
        links={
            "ln": "a.txt",
            "dirlink": "dir",
            "abs": "/etc/passwd",
            "up": "../outside",
            "lndir/in": "../b.txt",
        },
    ),
    "symlink-outside-abs": Case(f"FROM {BASE}\nCOPY abs /abs\n", FILES, links={"abs": "/etc/passwd"}),
    "symlink-outside-up": Case(
        f"FROM {BASE}\nCOPY up /up\n", FILES, links={"up": "../outside"}, extra={"outside": "secret\n"}
    ),
    "symlink-inside-via-root": Case(
        f"FROM {BASE}\nCOPY abs /abs\nCOPY up /up\n", FILES, links={"abs": "/a.txt", "up": "../../b.txt"}
    ),
    # Destinations through links whose targets are missing in the image: they resolve inside the image (the
    # host may well have /tmp/pybuild-dangling; nothing may be written there).
    "symlink-dest-dangling": Case(
        f"FROM {BASE}\nRUN ln -s /tmp/pybuild-dangling /a && ln -s /nowhere/deep /b "
        "&& ln -s ../../../srv/up /c && ln -s /tmp/pybuild-dangling-f /f\n"
        "COPY a.txt /a/\nCOPY b.txt /b/sub/\nCOPY dir /c/\nCOPY x.sh /f\nADD arc.tgz /b/x/\n",
        FILES,
        archives={"arc.tgz": ("gz", {"g/": "", "g/two": "2\n"})},
    ),
    "dotdot-source": Case(
        f"FROM {BASE}\nCOPY ../a.txt /up\nCOPY /dir/../b.txt /b\n", FILES, extra={"a.txt": "outside\n"}
    ),
    "add-archives": Case(
        f"FROM {BASE}\nADD plain.tar /u/plain/\nADD arc.tgz /u/gz/\nADD arc.tbz /u/bz2/\nADD arc.txz /u/xz/\n"
        "ADD hidden.bin /u/byname/\nADD notar.gz /u/notar/\nADD arc.tgz /u/file\n"
        "COPY arc.tgz /u/copied/\n",
        archives={
            "plain.tar": ("", {"p/": "", "p/one": "1\n"}),
            "arc.tgz": ("gz", {"g/": "", "g/two": "2\n"}),
            "arc.tbz": ("bz2", {"b/three": "3\n"}),
            "arc.txz": ("xz", {"x/four": "4\n"}),
            "hidden.bin": ("gz", {"h/six": "6\n"}),
        },
        files={"notar.gz": ""},
    ),
    "ignore-file": Case(
        f"FROM {BASE}\nCOPY . /c/\nCOPY Buildfile .dockerignore /meta/\n",
        {
            **FILES,
            "secret.log": "s\n",
            "dir/keep.log": "k\n",
            "dir/sub/skip.tmp": "t\n",
            "dir/sub/ok.txt": "o\n",
        },
        ignore="*.log\n**/*.tmp\ndir/sub\n!dir/sub/ok.txt\n",
    ),
    "ignore-excluded-source": Case(
        f"FROM {BASE}\nCOPY secret.log /s\n", {"secret.log": "s\n"}, ignore="*.log\n"
    ),
    "ignore-buildfile": Case(f"FROM {BASE}\nCOPY . /c/\n", FILES, ignore="Buildfile\n.dockerignore\n"),
    "dest-existing": Case(
        f"FROM {BASE}\nRUN mkdir -m 700 /d && echo old > /d/f && ln -s /d /ld && ln -s /d/f /lf && mkdir /e "
        "&& chown 3:4 /e\nCOPY a.txt /d/f\nCOPY b.txt /lf\nCOPY a.txt /ld/\nCOPY dir /d/\nCOPY dir /e\n"
        "COPY --chown=9:9 x.sh /e/\n",
        FILES,
        modes={"dir": 0o750},
    ),
    "add-zstd": Case(
        f"FROM {BASE}\nADD arc.tzst /u/\nCOPY arc.tzst /c/\n", archives={"arc.tzst": ("zst", {"z/five": "5\n"})}
    ),
    "heredoc-sources": Case(
        f'FROM {BASE}\nARG V=val\nCOPY <<EOF /h1\nplain $V\nEOF\nCOPY <<"EOF" /h2\nquoted $V\nEOF\n'
        "COPY --chmod=0755 <<A <<B /hd/\none\nA\ntwo\nB\nCOPY <<-EOF /h3\n\ttabbed\n\tEOF\n",
        FILES,
    ),
    # .dockerignore exceptions below an excluded directory, empty directories, hard links in an archive
    "ignore-exceptions": Case(
        f"FROM {BASE}\nCOPY . /c/\n",
        {**FILES, "build/out/keep.txt": "k\n", "build/out/drop.txt": "d\n", "build/other.txt": "o\n"},
        dirs=("empty", "build/emptysub", "dir/emptydeep/deeper"),
        ignore="build\n!build/out/keep.txt\nBuildfile\n.dockerignore\n",
    ),
    "hardlinks": Case(
        f"FROM {BASE}\nCOPY . /c/\nCOPY a.txt same.txt /two/\nADD linked.tar /x/\n",
        {"a.txt": "hi\n", "dir/b.txt": "bee\n"},
        hardlinks={"same.txt": "a.txt", "dir/b2.txt": "dir/b.txt"},
        archives={
            "linked.tar": ("", {"p/": "", "p/one": "1\n", "p/two": "HARDLINK:p/one", "q": "HARDLINK:p/one"})
        },
        ignore="Buildfile\n.dockerignore\n",
    ),
    "ignore-patterns": Case(
        f"FROM {BASE}\nCOPY . /c/\n",
        {
            "a.txt": "a\n",
            "x.tmp": "t\n",
            "important.tmp": "i\n",
            "deep/er/y.tmp": "t\n",
            "logs/one.log": "l\n",
            "logs/keep/two.log": "l\n",
            "src/mod/skip/s.txt": "s\n",
            "src/mod/keep.txt": "k\n",
            "top/a/b/c.txt": "c\n",
            "top/a/other.txt": "o\n",
            "rooted.txt": "r\n",
            "sub/rooted.txt": "r\n",
        },
        ignore="# a comment\n**/*.tmp\n!important.tmp\nlogs/\n!logs/keep\nsrc/*/skip\n/top\n!top/a/b\n"
        "./rooted.txt\nBuildfile\n.dockerignore\n",
    ),
    # archives over an image whose /lib links to usr/lib: a file below the link, a directory entry named like it
    "add-over-symlinks": Case(
        f"FROM {BASE}\nRUN mkdir -p /usr/lib /usr/lib2 && ln -s usr/lib /lib && ln -s usr/lib2 /lib2 "
        "\nADD lib-files.tar /\nADD dirs.tar /\n",
        archives={
            "lib-files.tar": ("", {"lib/x": "x\n"}),
            "dirs.tar": ("", {"lib2/": "", "lib2/z": "z\n"}),
        },
    ),
    "symlink-dangling": Case(
        f"FROM {BASE}\nCOPY withlinks /d/\nCOPY withlinks/inner/ok /ok\n",
        {"withlinks/f.txt": "f\n"},
        links={
            "dangling": "nowhere",
            "withlinks/dead": "../nowhere",
            "withlinks/abs": "/etc/passwd",
            "withlinks/inner/ok": "../f.txt",
        },
    ),
    "symlink-dangling-source": Case(f"FROM {BASE}\nCOPY dangling /x\n", links={"dangling": "nowhere"}),
    "add-dangling-link-parent": Case(
        f"FROM {BASE}\nRUN ln -s /nowhere /dl\nADD dangling.tar /\n",
        archives={"dangling.tar": ("", {"dl/y": "y\n"})},
    ),
    "chown-odd-specs": Case(
        f"FROM {BASE}\n{PASSWD}COPY --chown=:5 a.txt /o1\nCOPY --chown=7: a.txt /o2\n"
        "COPY --chown=:grp a.txt /o3\nCOPY --chown=app: a.txt /o4\n",
        FILES,
    ),
    "dest-parent-is-file": Case(f"FROM {BASE}\nRUN echo f > /f\nCOPY a.txt /f/x\n", FILES),
    "fifo-context": Case(
        f"FROM {BASE}\nCOPY . /c/\nCOPY pipe /p\n",
        FILES,
        fifos=("pipe", "dir/inner-pipe"),
        ignore="Buildfile\n",
    ),
    "empty-dirs": Case(
        f"FROM {BASE}\nCOPY empty /e1\nCOPY empty /e2/\nCOPY nested /n/\nCOPY . /all/\n",
        {"a.txt": "hi\n"},
        dirs=("empty", "nested/inner/deeper"),
        modes={"empty": 0o700, "nested/inner": 0o750},
    ),
}
