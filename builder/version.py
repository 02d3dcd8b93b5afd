"""pybuild's version: the wheel's (``pyproject.toml`` reads it from here) and what documents it writes name."""

__version__ = "0.1.0"
