"""The ``bake --print`` cases: (name, directory under cases/, arguments, environment). Each one's output as
``docker buildx bake --print`` (buildx 0.13.1) printed it is kept in recorded/NAME.json
(``record_buildx.py`` records them again)."""

CASES = [
    ("hcl-default", "hcl", [], {}),
    ("hcl-env", "hcl", [], {"TAG": "v9", "DEBUG": "true", "REGISTRY": "reg.local:5000"}),
    (
        "hcl-select-set",
        "hcl",
        [
            "m-x-1_0",
            "web",
            "--set",
            "*.platform=linux/arm64",
            "--set",
            "api.args.FOO=bar",
            "--set",
            "web.tags=a:1",
            "--set",
            "web.tags=b:2",
            "--set",
            "web.no-cache=false",
            "--set",
            "m-*.labels.from=set",
        ],
        {},
    ),
    ("hcl-flags", "hcl", ["api", "web", "--push", "--no-cache", "--pull"], {}),
    ("hcl-load", "hcl", ["base", "--load"], {}),
    ("hcl-matrix-group", "hcl", ["matrix"], {}),
    ("hcl-link", "hcl", ["api"], {}),
    ("compose", "compose", ["-f", "compose.yaml"], {"API_TAG": "v2", "FROM_ENV": "hello"}),
    ("compose-and-hcl", "compose", [], {}),
    ("json", "json", [], {}),
    ("json-inherits", "json", ["tools"], {"TAG": "2.0"}),
    ("override-files", "override", [], {}),
    ("references", "refs", [], {}),
    ("references-env", "refs", ["app", "directives"], {"VERSION": "2.0"}),
    ("directives", "refs", ["directives"], {}),
]

#: cases whose group lists buildx 0.13 prints in a random order (compose services and a matrix's keys are Go
#: maps): compared as sets
UNORDERED_GROUPS = {"compose", "compose-and-hcl", "hcl-matrix-group"}
