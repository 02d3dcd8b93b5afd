"""The ``# syntax=`` directive: BuildKit runs the frontend image it names; pybuild runs none.

pybuild implements the Dockerfile syntax itself (``docker/dockerfile:1`` and its 1.x releases, labs
included), so a directive naming that frontend changes nothing. A directive naming any other image (a
custom frontend, or a release pybuild does not follow) gets one warning saying that image is not run and the
file is read as pybuild's Dockerfile syntax.
"""

from __future__ import annotations

import re

#: repositories of the Dockerfile frontend pybuild implements, with or without a registry prefix
_DOCKERFILE = re.compile(
    r"^(?:docker\.io/)?(?:docker/dockerfile|docker/dockerfile-upstream)"
    r"(?::(?:1|1\.\d+|1\.\d+\.\d+|latest|labs)(?:-labs)?)?(?:@sha256:[0-9a-f]{64})?$"
)


def frontend_warning(buildfile) -> str | None:
    """The warning for ``buildfile``'s ``# syntax=`` directive (a `builder.syntax.ast.Buildfile`), or None."""
    for directive in buildfile.directives:
        if directive.name.lower() == "syntax" and not _DOCKERFILE.match(directive.value.strip()):
            return (
                f"{directive.span}: warning: # syntax={directive.value} names a frontend pybuild does not run; "
                "the file is read as the Dockerfile syntax pybuild implements"
            )
    return None
