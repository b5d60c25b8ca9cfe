"""Facts about the machine a benchmark ran on, for BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def facts() -> dict[str, str]:
    import ccxt
    import freqtrade

    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu} x {os.cpu_count()}",
        "memory": memory,
        "python": platform.python_version(),
        "freqtrade": freqtrade.__version__,
        "ccxt": ccxt.__version__,
    }
