"""The registry of build checks: each rule's name, what it is about, and where it is documented.

Names, descriptions, message texts and documentation addresses are BuildKit's (its Dockerfile linter), so a
rule can be looked up in Docker's build-checks reference and skipped by the same name in ``# check=skip=``.
The message functions take what the finding is about and return the one-line text shown for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_DOCS = "https://docs.docker.com/go/dockerfile/rule/"


@dataclass(frozen=True)
class Rule:
    """One build check. ``url`` is empty for a rule Docker does not document on its own page."""

    name: str
    description: str
    url: str
    message: Callable[..., str]


def _suggested(text: str, suggestion: str, prefix: str = "") -> str:
    return f"{text} (did you mean {prefix}{suggestion}?)" if suggestion else text


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "StageNameCasing",
            "Stage names should be lowercase",
            _DOCS + "stage-name-casing/",
            lambda name: f"Stage name '{name}' should be lowercase",
        ),
        Rule(
            "FromAsCasing",
            "The 'as' keyword should match the case of the 'from' keyword",
            _DOCS + "from-as-casing/",
            lambda from_, as_: f"'{as_}' and '{from_}' keywords' casing do not match",
        ),
        Rule(
            "NoEmptyContinuation",
            "Empty continuation lines will become errors in a future release",
            _DOCS + "no-empty-continuation/",
            lambda: "Empty continuation line",
        ),
        Rule(
            "ConsistentInstructionCasing",
            "All commands within the Dockerfile should use the same casing (either upper or lower)",
            _DOCS + "consistent-instruction-casing/",
            lambda command, casing: (
                f"Command '{command}' should match the case of the command majority ({casing})"
            ),
        ),
        Rule(
            "DuplicateStageName",
            "Stage names should be unique",
            _DOCS + "duplicate-stage-name/",
            lambda name: f'Duplicate stage name "{name}", stage names should be unique',
        ),
        Rule(
            "ReservedStageName",
            "Reserved words should not be used as stage names",
            _DOCS + "reserved-stage-name/",
            lambda name: f'Stage name should not use the same name as reserved stage "{name}"',
        ),
        Rule(
            "JSONArgsRecommended",
            "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS "
            "signals",
            _DOCS + "json-args-recommended/",
            lambda keyword: (
                f"JSON arguments recommended for {keyword} to prevent unintended behavior related to OS signals"
            ),
        ),
        Rule(
            "MaintainerDeprecated",
            "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
            _DOCS + "maintainer-deprecated/",
            lambda: "Maintainer instruction is deprecated in favor of using label",
        ),
        Rule(
            "UndefinedArgInFrom",
            "FROM command must use declared ARGs",
            _DOCS + "undefined-arg-in-from/",
            lambda name, suggestion="": _suggested(f"FROM argument '{name}' is not declared", suggestion),
        ),
        Rule(
            "WorkdirRelativePath",
            "Relative workdir without an absolute workdir declared within the build can have unexpected "
            "results if the base image changes",
            _DOCS + "workdir-relative-path/",
            lambda path: f'Relative workdir "{path}" can have unexpected results if the base image changes',
        ),
        Rule(
            "UndefinedVar",
            "Variables should be defined before their use",
            _DOCS + "undefined-var/",
            lambda name, suggestion="": _suggested(f"Usage of undefined variable '${name}'", suggestion, "$"),
        ),
        Rule(
            "MultipleInstructionsDisallowed",
            "Multiple instructions of the same type should not be used in the same stage",
            _DOCS + "multiple-instructions-disallowed/",
            lambda keyword: (
                f"Multiple {keyword} instructions should not be used in the same stage because only "
                "the last one will be used"
            ),
        ),
        Rule(
            "LegacyKeyValueFormat",
            "Legacy key/value format with whitespace separator should not be used",
            _DOCS + "legacy-key-value-format/",
            lambda keyword: (
                f'"{keyword} key=value" should be used instead of legacy "{keyword} key value" format'
            ),
        ),
        Rule(
            "InvalidDefaultArgInFrom",
            "Default value for global ARG results in an empty or invalid base image name",
            _DOCS + "invalid-default-arg-in-from/",
            lambda base: f"Default value for ARG {base} results in empty or invalid base image name",
        ),
        Rule(
            "FromPlatformFlagConstDisallowed",
            "FROM --platform flag should not use a constant value",
            _DOCS + "from-platform-flag-const-disallowed/",
            lambda platform: f'FROM --platform flag should not use constant value "{platform}"',
        ),
        Rule(
            "CopyIgnoredFile",
            "Attempting to Copy file that is excluded by .dockerignore",
            _DOCS + "copy-ignored-file/",
            lambda verb, path: f'Attempting to {verb} file "{path}" that is excluded by .dockerignore',
        ),
        Rule(
            "SecretsUsedInArgOrEnv",
            "Sensitive data should not be used in the ARG or ENV commands",
            _DOCS + "secrets-used-in-arg-or-env/",
            lambda keyword, key: f'Do not use ARG or ENV instructions for sensitive data ({keyword} "{key}")',
        ),
        Rule(
            "InvalidBaseImagePlatform",
            "Base image platform does not match expected target platform",
            "",
            lambda image, expected, actual: (
                f'Base image {image} was pulled with platform "{actual}", '
                f'expected "{expected}" for current build'
            ),
        ),
        Rule(
            "RedundantTargetPlatform",
            "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default "
            "behavior",
            _DOCS + "redundant-target-platform/",
            lambda written: (
                f"Setting platform to predefined {written} in FROM is redundant as this is the default behavior"
            ),
        ),
    )
}
