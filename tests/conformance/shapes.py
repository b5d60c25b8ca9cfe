"""Comparing the sandbox's raw answer with an exchange's recorded one, the way a client reads them.

Same keys (an extra key only where it is listed with the reason it cannot change a client's reading),
same kind of value at every key, same value where the key names an enum. A number and a numeric string
are one kind here: ccxt's recordings write many numbers as strings ("orderId": "9780331417") while the
same exchanges send numbers, and every client reads both alike.
"""

from __future__ import annotations

from typing import Any

# Keys whose values are enums: equal in the sandbox's answer and the recording when the test arranged
# the same state (status, side, type ...), unless the test names the key in ``free_values``.
ENUM_KEYS = frozenset({
    "status", "side", "type", "origType", "timeInForce", "positionSide", "workingType", "priceMatch",
    "selfTradePreventionMode", "accountType", "marginAsset", "commissionAsset", "orderStatus", "orderType",
    "stopOrderType", "cancelType", "createType", "rejectReason", "execType", "category", "smpType",
    "triggerBy", "tpslMode", "positionStatus", "slippageToleranceType", "retMsg", "retCode",
})


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return "text"
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_id(path: str) -> bool:
    key = path.rsplit(".", 1)[-1].removesuffix("[]")
    return key == "id" or key.endswith("Id")


def differences(real: Any, sandbox: Any, extras: dict[str, str] | None = None,
                missing: dict[str, str] | None = None, free_values: frozenset[str] = frozenset(),
                path: str = "") -> list[str]:
    """What a client would find different between ``real`` and ``sandbox`` (empty: nothing).

    ``extras`` / ``missing``: keys (by dotted path, list items as ``[]``) the sandbox may add / leave
    out, each with why; ``free_values``: enum keys whose values legitimately differ in this test."""
    extras, missing = extras or {}, missing or {}
    found: list[str] = []
    real_kind, sandbox_kind = kind(real), kind(sandbox)
    if is_id(path) and {real_kind, sandbox_kind} <= {"number", "text"}:
        return []  # an id is an opaque string to every client (Bybit's are numeric on spot, UUIDs on linear)
    # An empty string stands for "no value" in Bybit's answers; a number may be "" before it exists.
    if real_kind != sandbox_kind and not ({real_kind, sandbox_kind} <= {"number", "text"} and "" in (real, sandbox)):
        return [f"{path or '<answer>'}: {real_kind} in the recording, {sandbox_kind} in the sandbox"]
    if real_kind == "object":
        for key in real:
            where = f"{path}.{key}" if path else key
            if key not in sandbox:
                if where not in missing:
                    found.append(f"{where}: missing in the sandbox")
                continue
            found += differences(real[key], sandbox[key], extras, missing, free_values, where)
            if key in ENUM_KEYS and key not in free_values and kind(real[key]) == "text" \
                    and real[key] != sandbox[key]:
                found.append(f"{where}: {real[key]!r} in the recording, {sandbox[key]!r} in the sandbox")
        for key in sandbox:
            where = f"{path}.{key}" if path else key
            if key not in real and where not in extras:
                found.append(f"{where}: extra in the sandbox")
    elif real_kind == "list" and real and sandbox:
        if kind(real[0]) in ("object", "list"):
            found += differences(real[0], sandbox[0], extras, missing, free_values, f"{path}[]")
    return found


def unparsed(real: Any, sandbox: Any, allowed: dict[str, str] | None = None, path: str = "") -> list[str]:
    """Fields ccxt parsed to a value from the recording and to None from the sandbox's answer."""
    allowed = allowed or {}
    if isinstance(real, list):
        if not real or not sandbox:
            return [] if bool(real) == bool(sandbox) else [f"{path or '<result>'}: empty in one of them"]
        return unparsed(real[0], sandbox[0], allowed, f"{path}[]")
    if not isinstance(real, dict) or not isinstance(sandbox, dict):
        return []
    found = []
    for key, value in real.items():
        where = f"{path}.{key}" if path else key
        if key == "info" or where in allowed:
            continue
        if value is not None and sandbox.get(key) is None:
            found.append(f"{where}: {value!r} from the recording, None from the sandbox")
        elif isinstance(value, dict) and key not in ("free", "used", "total", "debt"):
            found += unparsed(value, sandbox.get(key), allowed, where)
    return found
