"""Fuzzing pybuild's input handling: ``python3 fuzz/run.py [--cases N]`` (see `fuzz.run`)."""
