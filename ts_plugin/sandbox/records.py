"""Lookups shared by the spot and the futures order books: both keep ``orders`` by id under ``lock``
and show them through ``public``, so reading them back is the same on both."""

from __future__ import annotations

import threading
from typing import Any

from ts_plugin.sandbox.errors import ApiError

OPEN = "NEW"


class OrderRecords:
    lock: threading.RLock
    orders: dict[int, dict]

    def public(self, order: dict) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, symbol: str, order_id: int) -> dict:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order["symbol"] != symbol:
                raise ApiError(400, -2013, "Order does not exist.")
            return self.public(order)

    def open_orders(self, symbol: str | None = None) -> list[dict]:
        with self.lock:
            return [self.public(o) for o in self.orders.values()
                    if o["status"] == OPEN and (symbol is None or o["symbol"] == symbol)]

    def all_orders(self, symbol: str) -> list[dict]:
        with self.lock:
            return [self.public(o) for o in self.orders.values() if o["symbol"] == symbol]
