"""The stage plan: from a parsed Buildfile to stages, their bases, the stage graph and expanded instructions.

Pure code: nothing here reads files or runs anything. ``plan()`` validates the whole Buildfile the way
BuildKit does before it runs a step (see ``builder.plan.stages``); `Resolver` expands each instruction where
BuildKit expands it, given the environment at that step (see ``builder.plan.resolve``).
"""

from builder.plan.model import DEFAULT_PATH, PROXY_ARGS, Base, Dependency, Plan, SourceKind, Stage
from builder.plan.resolve import Resolved, Resolver, Step
from builder.plan.stages import mount_fields, plan
from builder.platforms import Platform

__all__ = [
    "DEFAULT_PATH",
    "PROXY_ARGS",
    "Base",
    "Dependency",
    "Plan",
    "Platform",
    "Resolved",
    "Resolver",
    "SourceKind",
    "Stage",
    "Step",
    "mount_fields",
    "plan",
]
