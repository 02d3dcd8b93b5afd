"""The frontend: syntax, expansion, planning and lowering of a Buildfile. Pure: it reads no files and runs
nothing; what it produces (each stage's image config, the steps that make layers) is handed on as values.
"""
