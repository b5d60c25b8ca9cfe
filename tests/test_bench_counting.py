"""The benchmarks' pure counting: a native backstop's actions over a replay, requests per trade, the
sampled unprotected window and its resolution, and rewriting only some sections of BENCHMARKS.md."""

import numpy as np
import pytest

from benchmarks.replacements import BackstopCount, requests_per_trade, simulate
from benchmarks.report import replace_sections
from benchmarks.windows import largest_gap_ms, unprotected_ms
from ts_plugin.core.config import parse_config


def test_backstop_is_placed_when_trailing_starts_and_replaced_only_when_its_grid_value_changes():
    count = BackstopCount()
    count.follow(None)  # not trailing yet
    count.follow(0.005)  # 0.5 % on the 0.1 % callbackRate grid
    count.follow(0.005)
    count.follow(0.0049)  # rounds up to 0.5 again: no change on the exchange
    assert (count.placed, count.replaced, count.cancelled, count.live) == (1, 0, 0, 0.5)
    count.follow(0.0051)  # rounds up to 0.6
    count.follow(0.2)  # wider than the exchange's 10 %: no backstop rather than a tighter one
    assert (count.placed, count.replaced, count.cancelled, count.live) == (1, 1, 1, None)
    count.follow(0.004)
    count.exit()
    count.exit()  # nothing left to cancel
    assert (count.placed, count.replaced, count.cancelled) == (2, 1, 2)
    assert count.requests == 2 + 2 * 1 + 2


def test_requests_per_trade_are_moves_per_trade_times_requests_per_move():
    row = {"trades": 4, "replacements": 10, "backstop_requests": 9}
    figures = requests_per_trade(row, {"amend": 1, "make_before_break": 4, "cancel_then_create": 2})
    assert figures == {"amend": 2.5, "make_before_break": 10.0, "cancel_then_create": 5.0, "backstop": 2.25}


def test_replay_counts_one_backstop_per_trailing_trade_and_a_replacement_per_step():
    """Up 8 % in a straight line, then down through the stop: activation at 1.5 % places the backstop
    at 0.5 %, the step at 3 % re-places it at 0.4 %, the exit cancels it."""
    config = parse_config({"activation_profit": 0.015, "trail_distance": 0.005,
                           "steps": [{"profit": 0.03, "trail_distance": 0.004}]})
    prices = np.concatenate([np.linspace(100.0, 108.0, 400), np.linspace(108.0, 100.0, 100)])
    result = simulate(prices, None, config)
    assert result["trades"] >= 1 and result["exit_n"] >= 1
    assert (result["backstop_placed"], result["backstop_replaced"], result["backstop_cancelled"]) == (1, 1, 1)
    assert result["backstop_requests"] == 4


def test_window_spans_the_empty_samples_from_the_last_stop_seen_to_the_next():
    samples = [(0.000, 1), (0.010, 1), (0.020, 0), (0.030, 0), (0.045, 1), (0.050, 2), (0.051, 1)]
    assert unprotected_ms(samples) == pytest.approx(35.0)  # 0.010 -> 0.045
    assert largest_gap_ms(samples) == pytest.approx(15.0)
    assert unprotected_ms([(0.0, 1), (0.5, 1)]) == 0.0
    assert unprotected_ms([(0.0, 1), (0.004, 0)]) == pytest.approx(4.0)  # still empty at the end


def test_only_the_named_sections_are_replaced_and_a_new_one_goes_before_the_soak():
    previous = ("# Benchmarks\n\nintro\n\n## Wall\n\nold wall\n\n## Unprotected window per replacement path\n\n"
                "old window\n\n## Soak\n\nsoak figures\n")
    text = ("## Unprotected window per replacement path\n\nnew window\n### detail\n\n"
            "## Exchange stop replacements and requests per trade\n\nnew replays\n")
    only_windows = replace_sections(previous, text, ("## Unprotected window",))
    assert only_windows == previous.replace("old window\n", "new window\n### detail\n")
    both = replace_sections(previous, text, ("## Unprotected window", "## Exchange stop replacements"))
    assert [line for line in both.splitlines() if line.startswith("## ")] == [
        "## Wall", "## Unprotected window per replacement path",
        "## Exchange stop replacements and requests per trade", "## Soak"]
    assert "old wall" in both and "soak figures" in both and both.startswith("# Benchmarks\n\nintro\n")


def test_a_full_rewrite_keeps_the_sections_it_does_not_measure():
    from benchmarks.report import keep_unmeasured_sections

    previous = "# Benchmarks\nold\n\n## Wall\nold wall\n\n## Killed mid-trail\nexits\n\n## Soak\nsoak\n"
    new = "# Benchmarks\nnew\n\n## Wall\nnew wall\n\n## Soak\nsoak\n"
    kept = keep_unmeasured_sections(previous, new)
    assert "new wall" in kept and "old wall" not in kept
    assert kept.index("## Killed mid-trail\nexits") < kept.index("## Soak")
    assert keep_unmeasured_sections(new, new) == new
