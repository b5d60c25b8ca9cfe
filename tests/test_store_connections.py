"""The plugin's custom-data reads give their database connection back, in the bot's thread and inside
a REST request (``/forceenter`` fills an entry, and so creates the trade's state, in the API's worker
thread, in a session freqtrade scopes to that request and never closes). A read left open there kept
a pooled connection per force-entered trade until the pool ran dry and the bot stalled (the soak)."""

import threading

from freqtrade.persistence import Trade
from freqtrade.persistence.custom_data import _CustomData
from freqtrade.persistence.models import _request_id_ctx_var

from tests.freqtrade_helpers import make_strategy
from tests.restart_scenarios import start_trade


def _as_rest_request(request_id: str, action) -> None:
    """Run ``action`` as freqtrade runs an endpoint: in a worker thread, with the request's id set."""
    def run() -> None:
        _request_id_ctx_var.set(request_id)
        try:
            action()
        finally:
            Trade.session.remove()  # what freqtrade's get_rpc does after the endpoint; nothing more

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()


def test_force_entered_trades_leave_no_connection_checked_out(db):
    strategy = make_strategy()
    pool = _CustomData.session.get_bind().pool
    before = pool.checkedout()
    for number in range(20):  # more than freqtrade's pool (5 + 10 overflow) holds
        _as_rest_request(f"request-{number}", lambda: start_trade(strategy))
    assert pool.checkedout() == before
    assert len(strategy._ts_store.cache) == 20  # and every trade has its state
