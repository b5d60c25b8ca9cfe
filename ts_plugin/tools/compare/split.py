"""``--split DATE``: hyperopt the ``smart_trailing`` space before the date, so the comparison can judge
the optimum after it, on candles it never saw, against the user's own settings.

freqtrade's own Hyperopt runs in this process on the earlier period (one job, a fixed random state, so
a run is repeatable); its best ``smart_trailing`` values are returned, never exported next to the
user's strategy (``disableparamexport``) and its results file goes to the user data folder. What hyperopt
prints goes to stderr: stdout is the comparison's (its ``--json``).
"""

from __future__ import annotations

import contextlib
import copy
import sys
from datetime import datetime, timezone
from typing import Any

from ts_plugin.strategy.hyperopt_space import SPACE

DEFAULT_EPOCHS = 30
LOSS = "SharpeHyperOptLossDaily"


class SplitError(ValueError):
    """A --split date that cannot split the candles."""


def parse_date(text: str) -> datetime:
    """YYYYMMDD (freqtrade's time-range form) as a UTC midnight; SplitError otherwise."""
    try:
        return datetime.strptime(text, "%Y%m%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise SplitError(f"--split {text}: not a date, give it as YYYYMMDD (for example 20180120)") from None


def periods(split: str, timerange: str | None, first: datetime, last: datetime) -> tuple[str, str]:
    """The time ranges before and after ``split`` within ``timerange`` and the candles (``first`` ..
    ``last``); SplitError when the date leaves one side empty."""
    when = parse_date(split)
    start, _, end = (timerange or "-").partition("-")
    low = max(first, parse_date(start)) if start else first
    high = min(last, parse_date(end)) if end else last
    if not low < when < high:
        raise SplitError(f"--split {split}: must fall inside the backtested candles, {low:%Y-%m-%d %H:%M} to "
                         f"{high:%Y-%m-%d %H:%M} UTC, with candles on both sides")
    return f"{start}-{split}", f"{split}-{end}"


def optimise(config: dict[str, Any], before: str, epochs: int) -> dict[str, Any]:
    """Run freqtrade's hyperopt of the ``smart_trailing`` space on ``before``; its best values (empty when
    no epoch gave a result)."""
    from freqtrade.enums import RunMode
    from freqtrade.optimize.hyperopt import Hyperopt

    config = copy.deepcopy(config)
    config.update(runmode=RunMode.HYPEROPT, timerange=before, spaces=[SPACE], epochs=epochs,
                  hyperopt_loss=LOSS, hyperopt_jobs=1, hyperopt_random_state=1, hyperopt_min_trades=1,
                  disableparamexport=True, print_all=False, print_json=False)
    (config["user_data_dir"] / "hyperopt_results").mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr):  # its epoch table and best result: stdout stays the report's
        hyperopt = Hyperopt(config)
        hyperopt.start()
    best = hyperopt.current_best_epoch or {}
    return dict((best.get("params_details") or {}).get(SPACE) or {})
