"""Where the benchmarks read and write: the repository, the shared real candles, the work folder.

A module of its own so that the benchmarks import these from below instead of from ``run`` (which
imports the benchmarks themselves)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "binance"
WORK = ROOT / ".bench"
