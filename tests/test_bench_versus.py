"""The plugin-against-the-built-in benchmark's pure parts: the load-normalised ratio and its section."""

import pytest

from benchmarks.report import replace_sections
from benchmarks.versus_builtin import HEADING, VARIANTS, normalised_ratio, render, section


def _row(variant: str, share: float, cpu: float, identical: int = 10) -> dict:
    return {"set": "real", "variant": variant, "trades": 10, "identical": identical, "stop_share": share,
            "stop_share_runs": [share], "backtest_cpu_s": cpu, "backtest_cpu_runs": [cpu],
            "backtest_wall_s": cpu, "cpu_s": cpu + 3}


def test_the_normalised_ratio_measures_each_run_against_the_rest_of_that_same_run():
    """Built-in: 2 % of its run in the stop's handling; plugin: 10 % of a run that the machine's load
    made twice as long. The rest is the same work, so the plugin costs 0.98 / 0.90 of the built-in."""
    builtin, plugin = _row("b", 0.02, 4.0), _row("p", 0.10, 8.0)
    assert normalised_ratio(plugin, builtin) == pytest.approx(0.98 / 0.90)
    assert normalised_ratio(builtin, builtin) == 1.0


def test_the_section_lists_every_variant_against_the_first_with_its_trade_counts():
    rows = [_row(name, 0.02 + 0.01 * i, 4.0 + i, identical=10 - i) for i, (name, _, _) in enumerate(VARIANTS)]
    hyperopt = [{"set": "real", "variant": name, "epochs": 8, "epoch_cpu_s": cpu, "epoch_cpu_runs": [cpu],
                 "epoch_wall_s": cpu} for name, cpu in (("built-in", 2.0), ("plugin", 2.2))]
    lines = section({"backtests": rows, "hyperopt": hyperopt, "runs": 3, "hyperopt_runs": 2}, "Measured now.")
    assert lines[0] == HEADING
    table = [line for line in lines if line.startswith("| real |")]
    assert len(table) == len(VARIANTS) + len(hyperopt)
    assert "| 10 (10) | 2.0% (2.0%) | **1.000** |" in table[0]
    assert "| 10 (9) |" in table[1]
    assert table[-1].endswith("| 1.100 | 2.20 | 1.100 |")
    assert render({"backtests": rows, "hyperopt": []})[-1].startswith(f"| real | {VARIANTS[-1][0]} |")


def test_writing_the_section_replaces_only_its_own():
    previous = f"# Benchmarks\n\n## Wall\n\nold\n\n{HEADING}\n\nold figures\n\n## Soak\n\nsoak\n"
    text = replace_sections(previous, f"{HEADING}\n\nnew figures\n", (HEADING,))
    assert text == f"# Benchmarks\n\n## Wall\n\nold\n\n{HEADING}\n\nnew figures\n\n## Soak\n\nsoak\n"
