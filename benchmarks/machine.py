"""Describe the machine a benchmark ran on (cores, CPU model, memory, library versions)."""

from __future__ import annotations

import os
import platform
from types import ModuleType


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def ram_gib() -> str:
    """Total memory from /proc/meminfo, in GiB."""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(next(line.split()[1] for line in fh if line.startswith("MemTotal")))
        return f"{kb / 1024**2:.1f} GiB"
    except (OSError, StopIteration):
        return "unknown"


def machine_description(*modules: ModuleType) -> str:
    """One line: cores, CPU, RAM, Python and the versions of the given modules."""
    versions = ", ".join(f"{m.__name__} {getattr(m, '__version__', '?')}" for m in modules)
    text = f"nproc {os.cpu_count()}, CPU {cpu_model()}, RAM {ram_gib()}, Python {platform.python_version()}"
    return f"{text}, {versions}" if versions else text
