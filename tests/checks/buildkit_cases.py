# ruff: noqa: E501 -- BuildKit's Dockerfiles and messages are kept verbatim, one per line
"""What BuildKit's build checks report, case by case: the expectations of the rule tests.

Recorded from BuildKit's own integration test of its Dockerfile linter (``frontend/dockerfile/
dockerfile_check_test.go``, whose cases run each Dockerfile through a real BuildKit and compare the rule,
message and line of every warning), because the reference BuildKit these tests are otherwise pinned to
(v0.13, Docker 26.1, buildx 0.13) predates build checks: there ``docker buildx build --check .`` exits 125
with ``unknown flag: --check``, ``--call=check`` likewise, ``BUILDX_EXPERIMENTAL=1 docker buildx build
--print=lint .`` fails with ``unsupported request frontend.lint``, and a build prints no check warnings.

Each case: ``dockerfile`` (BuildKit's text, so line numbers match its test), ``warnings`` as
``(rule, message, line)`` sorted by line then message, and what else the case needs: ``build_args``,
``ignore`` (``.dockerignore`` text), ``images`` (base images the store holds: reference → ``(env,
shell, platform)``), ``platform`` (the target), ``all_stages`` (False: only the stages the target needs, as
in a build).
"""

from __future__ import annotations

ALPINE = ({"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, (), "linux/amd64")

CASES: list[dict] = [
    # ---- CopyIgnoredFile -------------------------------------------------------------------------------
    {
        "name": "copy-ignored-file",
        "dockerfile": "\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n",
        "ignore": "\nDockerfile\n",
        "warnings": [
            ("CopyIgnoredFile", 'Attempting to Copy file "Dockerfile" that is excluded by .dockerignore', 3),
            ("CopyIgnoredFile", 'Attempting to Add file "Dockerfile" that is excluded by .dockerignore', 4),
        ],
    },
    {
        "name": "copy-ignored-file-skipped",
        "dockerfile": "# check=skip=CopyIgnoredFile\n\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n",
        "ignore": "\nDockerfile\n",
        "warnings": [],
    },
    {
        "name": "copy-from-a-stage-is-not-the-context",
        "dockerfile": "\nFROM scratch AS base\nCOPY Dockerfile /foobar\nADD Dockerfile /windy\n\n"
        "FROM base\nCOPY --from=base /foobar /Dockerfile\n",
        "ignore": "\nfoobar\n",
        "warnings": [],
    },
    {
        "name": "copy-ignored-file-with-exceptions",
        "dockerfile": "\nFROM scratch\nCOPY ./Dockerfile .\n",
        "ignore": "\n**\n!Dockerfile\n",
        "warnings": [],
    },
    {
        "name": "copy-context-root-dotfiles-ignored",
        "dockerfile": "\nFROM scratch\nCOPY . .\n",
        "ignore": "\n.*\n",
        "warnings": [],
    },
    {
        "name": "copy-context-root-all-ignored",
        "dockerfile": "\nFROM scratch\nCOPY . .\n",
        "ignore": "\n*\n",
        "warnings": [("CopyIgnoredFile", 'Attempting to Copy file "." that is excluded by .dockerignore', 3)],
    },
    # ---- SecretsUsedInArgOrEnv -------------------------------------------------------------------------
    {
        "name": "secrets-used-in-arg-or-env",
        "dockerfile": "# check=skip=InvalidDefinitionDescription\n\nFROM scratch\nARG SECRET_PASSPHRASE\n"
        "ENV SUPER_Secret=foo\nENV password=bar secret=baz\nARG super_duper_secret_token=foo auth=bar\n"
        "ENV apikey=bar sunflower=foo\nENV git_key=\nENV PUBLIC_KEY=\nARG public_token\n"
        "ARG SECRET_PASSPHRASE_FILE\nENV password_file=bar secret_File=baz\nARG AUTH_MODULE_VERSION\n"
        "# check=skip=SecretsUsedInArgOrEnv // allow secret in environment\nENV password=bar\n"
        "# check=skip=SecretsUsedInArgOrEnv // allow secret in arg\nARG password\n"
        "# check=skip=all // is local to only this instruction\nENV alternate_password=bar\n"
        "# check=skip=all // is local to only this instruction\nARG alternate_password\n",
        "warnings": [
            (
                "SecretsUsedInArgOrEnv",
                'Do not use ARG or ENV instructions for sensitive data (ARG "SECRET_PASSPHRASE")',
                4,
            ),
            (
                "SecretsUsedInArgOrEnv",
                'Do not use ARG or ENV instructions for sensitive data (ENV "SUPER_Secret")',
                5,
            ),
            (
                "SecretsUsedInArgOrEnv",
                'Do not use ARG or ENV instructions for sensitive data (ENV "password")',
                6,
            ),
            (
                "SecretsUsedInArgOrEnv",
                'Do not use ARG or ENV instructions for sensitive data (ENV "secret")',
                6,
            ),
            ("SecretsUsedInArgOrEnv", 'Do not use ARG or ENV instructions for sensitive data (ARG "auth")', 7),
            (
                "SecretsUsedInArgOrEnv",
                'Do not use ARG or ENV instructions for sensitive data (ARG "super_duper_secret_token")',
                7,
            ),
            (
                "SecretsUsedInArgOrEnv",
                'Do not use ARG or ENV instructions for sensitive data (ENV "apikey")',
                8,
            ),
            (
                "SecretsUsedInArgOrEnv",
                'Do not use ARG or ENV instructions for sensitive data (ENV "git_key")',
                9,
            ),
        ],
    },
    # ---- all stages in a check, the target's in a build -----------------------------------------------
    {
        "name": "check-looks-at-every-stage",
        "dockerfile": "\nFROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n",
        "warnings": [
            ("UndefinedVar", "Usage of undefined variable '$foo'", 3),
            ("UndefinedVar", "Usage of undefined variable '$bar'", 6),
        ],
    },
    {
        "name": "build-looks-at-the-target-stages",
        "dockerfile": "\nFROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n",
        "all_stages": False,
        "warnings": [("UndefinedVar", "Usage of undefined variable '$bar'", 6)],
    },
    # ---- check options ---------------------------------------------------------------------------------
    {
        "name": "skip-all",
        "dockerfile": "#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n",
        "warnings": [],
    },
    {
        "name": "skip-two-rules",
        "dockerfile": "#check=skip=ConsistentInstructionCasing,FromAsCasing\nFROM scratch as base\ncopy Dockerfile .\n",
        "warnings": [],
    },
    {
        "name": "skip-one-rule",
        "dockerfile": "#check=skip=ConsistentInstructionCasing\nFROM scratch as base\ncopy Dockerfile .\n",
        "warnings": [("FromAsCasing", "'as' and 'FROM' keywords' casing do not match", 2)],
    },
    {
        "name": "build-arg-replaces-the-directive",
        "dockerfile": "#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n",
        "build_args": {"BUILDKIT_DOCKERFILE_CHECK": "skip=ConsistentInstructionCasing;error=true"},
        "warnings": [("FromAsCasing", "'as' and 'FROM' keywords' casing do not match", 2)],
    },
    {
        "name": "build-arg-skips-all",
        "dockerfile": "#check=error=true\nFROM scratch as base\ncopy Dockerfile .\n",
        "build_args": {"BUILDKIT_DOCKERFILE_CHECK": "skip=all"},
        "warnings": [],
    },
    # ---- StageNameCasing, FromAsCasing -----------------------------------------------------------------
    {
        "name": "stage-name-casing",
        "dockerfile": "\n# warning: stage name should be lowercase\n#\nFROM scratch AS BadStageName\n\n"
        "# warning: 'as' should match 'FROM' cmd casing.\n#\nFROM scratch as base2\n\nFROM scratch AS base3\n",
        "warnings": [
            ("StageNameCasing", "Stage name 'BadStageName' should be lowercase", 4),
            ("FromAsCasing", "'as' and 'FROM' keywords' casing do not match", 8),
        ],
    },
    {
        "name": "from-as-casing-lowercase-from",
        "dockerfile": "\n# warning: 'AS' should match 'from' cmd casing.\n#\nfrom scratch AS base\n\nfrom scratch as base2\n",
        "warnings": [("FromAsCasing", "'AS' and 'from' keywords' casing do not match", 4)],
    },
    # ---- NoEmptyContinuation ---------------------------------------------------------------------------
    {
        "name": "no-empty-continuation",
        "dockerfile": "\nFROM scratch\n# warning: empty continuation line\nCOPY Dockerfile \\\n\n.\nCOPY Dockerfile \\\n.\n",
        "warnings": [("NoEmptyContinuation", "Empty continuation line", 6)],
    },
    # ---- ConsistentInstructionCasing -------------------------------------------------------------------
    {
        "name": "casing-mixed-from",
        "dockerfile": "\n# warning: 'FROM' should be either lowercased or uppercased\n#\nFrom scratch as base\n"
        "FROM scratch AS base2\n",
        "warnings": [
            (
                "ConsistentInstructionCasing",
                "Command 'From' should match the case of the command majority (uppercase)",
                4,
            )
        ],
    },
    {
        "name": "casing-lower-copy",
        "dockerfile": "\nFROM scratch\n# warning: 'copy' should match command majority's casing (uppercase)\n"
        "copy Dockerfile /foo\nCOPY Dockerfile /bar\n",
        "warnings": [
            (
                "ConsistentInstructionCasing",
                "Command 'copy' should match the case of the command majority (uppercase)",
                4,
            )
        ],
    },
    {
        "name": "casing-mixed-lower-majority",
        "dockerfile": "\n# warning: 'frOM' should be either lowercased or uppercased\n#\nfrOM scratch as base\n"
        "from scratch as base2\n",
        "warnings": [
            (
                "ConsistentInstructionCasing",
                "Command 'frOM' should match the case of the command majority (lowercase)",
                4,
            )
        ],
    },
    {
        "name": "casing-upper-copy",
        "dockerfile": "\nfrom scratch\n# warning: 'COPY' should match command majority's casing (lowercase)\n"
        "COPY Dockerfile /foo\ncopy Dockerfile /bar\n",
        "warnings": [
            (
                "ConsistentInstructionCasing",
                "Command 'COPY' should match the case of the command majority (lowercase)",
                4,
            )
        ],
    },
    {
        "name": "casing-lower-from",
        "dockerfile": "\n# warning: 'from' should match command majority's casing (uppercase)\n#\nfrom scratch\n"
        "COPY Dockerfile /foo\nCOPY Dockerfile /bar\nCOPY Dockerfile /baz\n",
        "warnings": [
            (
                "ConsistentInstructionCasing",
                "Command 'from' should match the case of the command majority (uppercase)",
                4,
            )
        ],
    },
    {
        "name": "casing-upper-from",
        "dockerfile": "\n# warning: 'FROM' should match command majority's casing (lowercase)\n#\nFROM scratch\n"
        "copy Dockerfile /foo\ncopy Dockerfile /bar\ncopy Dockerfile /baz\n",
        "warnings": [
            (
                "ConsistentInstructionCasing",
                "Command 'FROM' should match the case of the command majority (lowercase)",
                4,
            )
        ],
    },
    {
        "name": "casing-all-lower",
        "dockerfile": "\nfrom scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\n",
        "warnings": [],
    },
    {
        "name": "casing-all-upper",
        "dockerfile": "\nFROM scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\n",
        "warnings": [],
    },
    {
        "name": "casing-heredoc-body-is-not-an-instruction",
        "dockerfile": "\nFROM alpine\nRUN <<'EOT'\nenv\nEOT\n",
        "images": {"alpine": ALPINE},
        "warnings": [],
    },
    # ---- DuplicateStageName, ReservedStageName ---------------------------------------------------------
    {
        "name": "duplicate-stage-name",
        "dockerfile": "\nFROM scratch AS b\nFROM scratch AS b\n",
        "warnings": [("DuplicateStageName", 'Duplicate stage name "b", stage names should be unique', 3)],
    },
    {"name": "unique-stage-names", "dockerfile": "\nFROM scratch AS b1\nFROM scratch AS b2\n", "warnings": []},
    {
        "name": "reserved-stage-name",
        "dockerfile": "\nFROM scratch AS scratch\nFROM scratch AS context\n",
        "warnings": [
            ("ReservedStageName", 'Stage name should not use the same name as reserved stage "scratch"', 2),
            ("ReservedStageName", 'Stage name should not use the same name as reserved stage "context"', 3),
        ],
    },
    {"name": "reserved-name-as-base-only", "dockerfile": "\nFROM scratch\nFROM scratch AS a\n", "warnings": []},
    # ---- JSONArgsRecommended ---------------------------------------------------------------------------
    {
        "name": "json-args-cmd",
        "dockerfile": "\nFROM scratch\nCMD mycommand\n",
        "warnings": [
            (
                "JSONArgsRecommended",
                "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
                3,
            )
        ],
    },
    {
        "name": "json-args-entrypoint",
        "dockerfile": "\nFROM scratch\nENTRYPOINT mycommand\n",
        "warnings": [
            (
                "JSONArgsRecommended",
                "JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals",
                3,
            )
        ],
    },
    {
        "name": "json-args-shell-set",
        "dockerfile": '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nCMD mycommand\n',
        "warnings": [],
    },
    {
        "name": "json-args-shell-set-entrypoint",
        "dockerfile": '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nENTRYPOINT mycommand\n',
        "warnings": [],
    },
    {
        "name": "json-args-shell-from-base-stage",
        "dockerfile": '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\nCMD mycommand\n',
        "warnings": [],
    },
    {
        "name": "json-args-shell-from-base-image",
        "dockerfile": "\nFROM shellimage\nENTRYPOINT mycommand\n",
        "images": {"shellimage": ({}, ("/usr/bin/customshell",), "linux/amd64")},
        "warnings": [],
    },
    # ---- MaintainerDeprecated --------------------------------------------------------------------------
    {
        "name": "maintainer-deprecated",
        "dockerfile": "\nFROM scratch\nMAINTAINER me@example.org\n",
        "warnings": [
            ("MaintainerDeprecated", "Maintainer instruction is deprecated in favor of using label", 3)
        ],
    },
    {
        "name": "maintainer-as-label",
        "dockerfile": '\nFROM scratch\nLABEL org.opencontainers.image.authors="me@example.org"\n',
        "warnings": [],
    },
    {
        "name": "comment-skips-json-args-cmd",
        "dockerfile": "\nFROM scratch\n# check=skip=JSONArgsRecommended\nCMD mycommand\n",
        "warnings": [],
    },
    {
        "name": "comment-skips-json-args-entrypoint",
        "dockerfile": "\nFROM scratch\n# check=skip=JSONArgsRecommended\nENTRYPOINT mycommand\n",
        "warnings": [],
    },
    {
        "name": "comment-skips-maintainer",
        "dockerfile": "\nFROM scratch\n# check=skip=MaintainerDeprecated\nMAINTAINER me@example.org\n",
        "warnings": [],
    },
    # ---- UndefinedArgInFrom ----------------------------------------------------------------------------
    {
        "name": "from-arg-declared",
        "dockerfile": "\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n",
        "warnings": [],
    },
    {
        "name": "from-arg-predefined-redeclared",
        "dockerfile": "\nARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n",
        "warnings": [],
    },
    {
        "name": "from-arg-predefined",
        "dockerfile": "\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n",
        "warnings": [],
    },
    {
        "name": "from-arg-declared-empty",
        "dockerfile": "\nARG DEBUG\nFROM scratch${DEBUG}\nCOPY Dockerfile .\n",
        "warnings": [],
    },
    {
        "name": "from-arg-default",
        "dockerfile": "\nARG DEBUG\nFROM scra${DEBUG:-tch}\nCOPY Dockerfile .\n",
        "warnings": [],
    },
    {
        "name": "from-arg-empty-default",
        "dockerfile": '\nARG DEBUG=""\nFROM scratch${DEBUG-@bogus}\nCOPY Dockerfile .\n',
        "warnings": [],
    },
    {
        "name": "from-arg-typo-in-platform",
        "dockerfile": "\nFROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n",
        "warnings": [
            (
                "UndefinedArgInFrom",
                "FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)",
                2,
            )
        ],
    },
    {
        "name": "from-arg-typo-in-platform-part",
        "dockerfile": "\nARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\nCOPY Dockerfile .\n\t",
        "warnings": [
            ("UndefinedArgInFrom", "FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?)", 4)
        ],
    },
    {
        "name": "from-arg-undeclared-in-image",
        "dockerfile": "\nARG tag=latest\nFROM busybox:${tag}${version} AS b\nCOPY Dockerfile .\n",
        "warnings": [("UndefinedArgInFrom", "FROM argument 'version' is not declared", 3)],
    },
    # ---- WorkdirRelativePath ---------------------------------------------------------------------------
    {
        "name": "workdir-relative",
        "dockerfile": "\nFROM scratch\nWORKDIR app/\n",
        "warnings": [
            (
                "WorkdirRelativePath",
                'Relative workdir "app/" can have unexpected results if the base image changes',
                3,
            )
        ],
    },
    {
        "name": "workdir-absolute-in-base-stage",
        "dockerfile": "\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n",
        "warnings": [],
    },
    {
        "name": "comment-skips-workdir-relative",
        "dockerfile": "\nFROM scratch\n# check=skip=WorkdirRelativePath\nWORKDIR app/\n",
        "warnings": [],
    },
    # ---- UndefinedVar ----------------------------------------------------------------------------------
    {
        "name": "var-declared-arg",
        "dockerfile": "\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n",
        "warnings": [],
    },
    {
        "name": "var-arg-of-base-stage",
        "dockerfile": "\nFROM alpine AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n",
        "images": {"alpine": ALPINE},
        "warnings": [],
    },
    {
        "name": "var-in-run",
        "dockerfile": "\nFROM alpine\nRUN echo $PATH\n",
        "images": {"alpine": ALPINE},
        "warnings": [],
    },
    {
        "name": "var-before-its-arg",
        "dockerfile": "\nFROM alpine\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n",
        "images": {"alpine": ALPINE},
        "warnings": [("UndefinedVar", "Usage of undefined variable '$foo'", 3)],
    },
    {
        "name": "var-typo",
        "dockerfile": "\nFROM alpine\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\nARG DIR_CONFIG=config/\n"
        "COPY $DIR_ASSET .\n\t",
        "images": {"alpine": ALPINE},
        "warnings": [
            ("UndefinedVar", "Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)", 6)
        ],
    },
    {
        "name": "var-typo-of-image-env",
        "dockerfile": "\nFROM alpine\nENV PATH=$PAHT:/tmp/bin\n\t\t",
        "images": {"alpine": ALPINE},
        "warnings": [("UndefinedVar", "Usage of undefined variable '$PAHT' (did you mean $PATH?)", 3)],
    },
    # ---- MultipleInstructionsDisallowed ----------------------------------------------------------------
    {
        "name": "multiple-instructions",
        "dockerfile": '\nFROM scratch\nENTRYPOINT ["/myapp"]\nENTRYPOINT ["/myotherapp"]\nCMD ["/myapp"]\n'
        'CMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
        "warnings": [
            (
                "MultipleInstructionsDisallowed",
                "Multiple ENTRYPOINT instructions should not be used in the same stage because only the last one will be used",
                3,
            ),
            (
                "MultipleInstructionsDisallowed",
                "Multiple CMD instructions should not be used in the same stage because only the last one will be used",
                5,
            ),
            (
                "MultipleInstructionsDisallowed",
                "Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used",
                7,
            ),
        ],
    },
    {
        "name": "multiple-instructions-apart",
        "dockerfile": '\nFROM scratch\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\n'
        'COPY <<EOF /a.txt\nHello, World!\nEOF\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\n'
        'HEALTHCHECK CMD ["/myotherapp"]\n',
        "warnings": [
            (
                "MultipleInstructionsDisallowed",
                "Multiple CMD instructions should not be used in the same stage because only the last one will be used",
                4,
            ),
            (
                "MultipleInstructionsDisallowed",
                "Multiple ENTRYPOINT instructions should not be used in the same stage because only the last one will be used",
                3,
            ),
            (
                "MultipleInstructionsDisallowed",
                "Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used",
                5,
            ),
        ],
    },
    {
        "name": "multiple-instructions-in-two-stages",
        "dockerfile": '\nFROM scratch AS a\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\n\n'
        'FROM a AS b\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
        "warnings": [],
    },
    # ---- LegacyKeyValueFormat --------------------------------------------------------------------------
    {
        "name": "legacy-key-value",
        "dockerfile": "\nFROM scratch\nENV testkey value\nLABEL key value\n",
        "warnings": [
            (
                "LegacyKeyValueFormat",
                '"ENV key=value" should be used instead of legacy "ENV key value" format',
                3,
            ),
            (
                "LegacyKeyValueFormat",
                '"LABEL key=value" should be used instead of legacy "LABEL key value" format',
                4,
            ),
        ],
    },
    {"name": "key-value", "dockerfile": "\nFROM scratch\nENV testkey=value\nLABEL key=value\n", "warnings": []},
    {
        "name": "legacy-key-value-in-an-unbuilt-stage",
        "dockerfile": "\nFROM scratch AS a\n\nFROM a AS b\nENV testkey value\nLABEL key value\n\nFROM a AS c\n",
        "all_stages": False,
        "warnings": [],
    },
    {
        "name": "legacy-key-value-in-an-unbuilt-stage-checked",
        "dockerfile": "\nFROM scratch AS a\n\nFROM a AS b\nENV testkey value\nLABEL key value\n\nFROM a AS c\n",
        "warnings": [
            (
                "LegacyKeyValueFormat",
                '"ENV key=value" should be used instead of legacy "ENV key value" format',
                5,
            ),
            (
                "LegacyKeyValueFormat",
                '"LABEL key=value" should be used instead of legacy "LABEL key value" format',
                6,
            ),
        ],
    },
    {
        "name": "comment-skips-legacy-key-value",
        "dockerfile": "\nFROM scratch\n# check=skip=LegacyKeyValueFormat\nENV testkey value\n"
        "# check=skip=LegacyKeyValueFormat\nLABEL key value\n",
        "warnings": [],
    },
    # ---- RedundantTargetPlatform -----------------------------------------------------------------------
    {
        "name": "redundant-target-platform",
        "dockerfile": "\nFROM --platform=$TARGETPLATFORM scratch\n",
        "warnings": [
            (
                "RedundantTargetPlatform",
                "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
                2,
            )
        ],
    },
    {
        "name": "redundant-target-platform-braces",
        "dockerfile": "\nFROM --platform=${TARGETPLATFORM} scratch\n",
        "warnings": [
            (
                "RedundantTargetPlatform",
                "Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as this is the default behavior",
                2,
            )
        ],
    },
    {
        "name": "redundant-target-platform-skipped",
        "dockerfile": "\n# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n",
        "warnings": [],
    },
    # ---- InvalidDefaultArgInFrom -----------------------------------------------------------------------
    {
        "name": "invalid-default-arg-tag",
        "dockerfile": "\nARG VERSION\nFROM busybox:$VERSION\n",
        "build_args": {"VERSION": "latest"},
        "warnings": [
            (
                "InvalidDefaultArgInFrom",
                "Default value for ARG busybox:$VERSION results in empty or invalid base image name",
                3,
            )
        ],
    },
    {
        "name": "invalid-default-arg-image",
        "dockerfile": "\nARG IMAGE\nFROM $IMAGE\n",
        "build_args": {"IMAGE": "busybox:latest"},
        "warnings": [
            (
                "InvalidDefaultArgInFrom",
                "Default value for ARG $IMAGE results in empty or invalid base image name",
                3,
            )
        ],
    },
    {
        "name": "invalid-default-arg-suffix",
        "dockerfile": '\nARG SFX="box:"\nFROM busy${SFX}\n',
        "build_args": {"SFX": "box:latest"},
        "warnings": [
            (
                "InvalidDefaultArgInFrom",
                "Default value for ARG busy${SFX} results in empty or invalid base image name",
                3,
            )
        ],
    },
    {
        "name": "valid-default-arg",
        "dockerfile": '\nARG VERSION="latest"\nFROM busybox:${VERSION}\n',
        "build_args": {"VERSION": "latest"},
        "warnings": [],
    },
    {
        "name": "valid-empty-default-arg",
        "dockerfile": '\nARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n',
        "build_args": {"BUSYBOX_VARIANT": "-musl"},
        "warnings": [],
    },
    {
        "name": "valid-no-default-arg",
        "dockerfile": "\n\tARG BUSYBOX_VARIANT\n\tFROM busybox:stable${BUSYBOX_VARIANT}\n\t",
        "build_args": {"BUSYBOX_VARIANT": "-musl"},
        "warnings": [],
    },
    # ---- FromPlatformFlagConstDisallowed ---------------------------------------------------------------
    {
        "name": "const-platform",
        "dockerfile": "\nFROM --platform=linux/amd64 scratch\n",
        "warnings": [
            (
                "FromPlatformFlagConstDisallowed",
                'FROM --platform flag should not use constant value "linux/amd64"',
                2,
            )
        ],
    },
    {
        "name": "const-platform-named-arch",
        "dockerfile": "\nFROM --platform=linux/amd64 scratch AS my_amd64_stage\n",
        "warnings": [],
    },
    {
        "name": "const-platform-named-os",
        "dockerfile": "\nFROM --platform=linux/amd64 scratch AS linux\n",
        "warnings": [],
    },
    # ---- InvalidBaseImagePlatform ----------------------------------------------------------------------
    {
        "name": "base-image-platform-mismatch",
        "dockerfile": "\nFROM localhost:5000/buildkit/testbaseimageplatform:latest\nENV foo=bar\n\t",
        "platform": "linux/amd64",
        "images": {"localhost:5000/buildkit/testbaseimageplatform:latest": ({}, (), "linux/arm64")},
        "warnings": [
            (
                "InvalidBaseImagePlatform",
                "Base image localhost:5000/buildkit/testbaseimageplatform:latest was pulled with platform "
                '"linux/arm64", expected "linux/amd64" for current build',
                2,
            )
        ],
    },
    {
        "name": "base-image-platform-match",
        "dockerfile": "\nFROM localhost:5000/buildkit/testbaseimageplatform:latest\nENV foo=bar\n\t",
        "platform": "linux/amd64",
        "images": {"localhost:5000/buildkit/testbaseimageplatform:latest": ({}, (), "linux/amd64")},
        "warnings": [],
    },
]
