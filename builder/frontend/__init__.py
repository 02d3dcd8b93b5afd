"""The frontend: a Buildfile's text to the graph of ops the solver runs, with nothing done on the machine.

Syntax (`builder.syntax`), expansion (`builder.expand`) and planning (`builder.plan`) keep their packages;
this package holds what joins them to the solver: `lower` (stages and their instructions → `BuildGraph` of
typed ops and each stage's image config) and `config` (the config instructions as one table).
"""
