"""Faults injected per endpoint, consumed in order: delay, timeout, HTTP errors, Binance error codes.

A fault is a dict: ``{"kind": "delay", "ms": 300}``, ``{"kind": "timeout", "ms": 15000}``,
``{"kind": "http", "status": 503}``, ``{"kind": "http", "status": 429}``,
``{"kind": "unknown_order_live"}`` (cancel answers -2011 but the order stays live),
``{"kind": "not_found"}`` (-2013 on a fetch), ``{"kind": "error", "code": -1021, "msg": "..."}``,
``{"kind": "lost_answer"}`` (the request is carried out, then answered 504 / -1007 "execution status
unknown", as when Binance's gateway loses the matching engine's reply),
``{"kind": "fill_other_stops"}`` (on a stop's create, ``POST /fapi/v1/algoOrder`` or ``POST
/v5/order/create``: the order is placed, then the symbol's other live stops go off at the current
price, as if the price had touched them at that instant: a stop filling between a replacement's
create and the old stop's cancel, met deterministically),
``{"kind": "slip", "ratio": 0.003}`` (Bybit, on ``POST /v5/order/create``: the price moves by the ratio
just before the order is carried out, so a market order fills that far from the sender's quote).
Each may carry ``"times": N`` (default 1) and ``"when": {"type": "STOP_LOSS_LIMIT"}`` to hit only
requests whose parameters match (e.g. the stop placement, not the entry order on the same path). The endpoint key is ``"METHOD /path"``, e.g.
``"DELETE /api/v3/order"``; ``"*"`` matches every endpoint. A ``"latency_ms"`` applies to every call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

# Carried out after the request itself (the others act before it, or instead of it).
FILL_OTHER_STOPS = "fill_other_stops"
# Carried out before the request, which then runs as usual.
SLIP = "slip"


@dataclass
class FaultPlan:
    latency_ms: float = 0.0
    _queues: dict[str, list[dict]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    hits: dict[str, int] = field(default_factory=dict)

    def add(self, endpoint: str, fault: dict) -> None:
        times = int(fault.get("times", 1))
        with self._lock:
            self._queues.setdefault(endpoint, []).extend([dict(fault)] * times)

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self.latency_ms = 0.0

    def take(self, endpoint: str, params: dict | None = None) -> dict | None:
        """The next matching fault for this endpoint (specific first, then ``*``), or None."""
        params = params or {}
        with self._lock:
            for key in (endpoint, "*"):
                queue = self._queues.get(key, [])
                for index, fault in enumerate(queue):
                    wanted = fault.get("when") or {}
                    if all(str(params.get(k, "")).upper() == str(v).upper() for k, v in wanted.items()):
                        self.hits[key] = self.hits.get(key, 0) + 1
                        return queue.pop(index)
        return None
