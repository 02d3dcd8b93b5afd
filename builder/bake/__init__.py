"""``pybuild bake``: many images from one definition, as ``docker buildx bake`` builds them.

* `files` finds and reads the bake files (buildx's default names, or ``-f``);
* `hclsyntax`, `hclvalues`, `hcleval`, `functions`, `calls`, `hclfile` read HCL and JSON bake files
  (python-hcl2 parses; the expressions are evaluated here); `compose` reads compose files' ``build:``
  sections (PyYAML parses);
* `model` holds targets and groups, their merging and ``--set``, and ``--print``'s JSON;
* `resolve` selects targets and groups, applies ``inherits`` and overrides (buildx's ``ReadTargets``);
* `options` turns a resolved target into `builder.buildtypes.BuildOptions`;
* `run` builds the requests (`run.build_many`), feeding ``target:NAME`` contexts from one into another.
"""
