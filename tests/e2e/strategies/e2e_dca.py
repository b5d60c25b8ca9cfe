"""The end-to-end strategy with position adjustment, driven by the test: a DCA entry (a positive stake)
or a partial exit (a negative one) when the test asks for it, taken once through freqtrade's own
``adjust_trade_position``. The test writes ``adjust.json`` into the bot's user_data folder, e.g.
``{"trade_id": 1, "stake": 100.0}``; the strategy removes it when it answers."""

import json
from pathlib import Path

from e2e_trailing import E2ETrailing


class E2EDca(E2ETrailing):
    position_adjustment_enable = True
    max_entry_position_adjustment = 3

    def adjust_trade_position(self, trade, current_time, current_rate, current_profit, min_stake, max_stake,
                              current_entry_rate, current_exit_rate, current_entry_profit,
                              current_exit_profit, **kwargs):
        request = Path(self.config["user_data_dir"]) / "adjust.json"
        try:
            wanted = json.loads(request.read_text())
        except (OSError, ValueError):
            return None
        if wanted.get("trade_id") != trade.id:
            return None
        request.unlink(missing_ok=True)
        return float(wanted["stake"]), "e2e: asked by the test"
