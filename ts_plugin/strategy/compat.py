"""Which freqtrade the plugin works with, checked when ``ts_plugin`` is imported.

The package's requirements are deliberately loose (``freqtrade>=2026.9``) so that installing the
plugin beside a running bot never up- or downgrades freqtrade. This check is what stops a bot on a
freqtrade the plugin cannot work with: importing ``ts_plugin`` (the first thing a strategy using the
mixin does) raises :class:`IncompatibleFreqtrade`, which names the version found and the version
needed. freqtrade reports it as a start-up error (it is an ``OperationalException`` when freqtrade is
importable), not as a strategy it could not find. A freqtrade newer than the newest the tests ran
with is allowed, with one WARNING.
"""

from __future__ import annotations

import logging
import re
from importlib import metadata

MIN_FREQTRADE = "2026.9"  # oldest freqtrade whose callbacks, custom data and exchange API the plugin uses
TESTED_FREQTRADE = "2026.9"  # newest freqtrade the test suite ran with (constraints.txt pins it)

logger = logging.getLogger("ts_plugin")


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of a freqtrade version: ``2026.10.dev0``, ``2026.10-dev-1a2b3c`` and
    ``docker-2026.9-1a2b3c4d`` give their leading numbers (a development build of 2026.10 counts as
    2026.10)."""
    match = re.search(r"(\d+(?:\.\d+)*)", version)
    if not match:
        raise ValueError(f"cannot read freqtrade version {version!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def installed_freqtrade() -> str | None:
    """freqtrade's version from its installed metadata (without importing it), else from the module."""
    try:
        return metadata.version("freqtrade")
    except metadata.PackageNotFoundError:
        pass
    try:
        import freqtrade
    except ImportError:
        return None
    return getattr(freqtrade, "__version__", None)


def _error_class() -> type[Exception]:
    try:  # freqtrade prints an OperationalException as a one-line start-up error
        from freqtrade.exceptions import OperationalException
    except Exception:  # noqa: BLE001 - whatever freqtrade (or its absence) does, keep the message
        return RuntimeError
    return OperationalException


def incompatible_error(message: str) -> Exception:
    base = _error_class()
    error_type = type("IncompatibleFreqtrade", (base,), {"__module__": __name__})
    return error_type(message)


def check_freqtrade(found: str | None = None) -> str | None:
    """Raise when the installed freqtrade (or ``found``) is older than :data:`MIN_FREQTRADE`.

    Returns the version found (``None`` when freqtrade is not installed: the pure core, the sandbox and
    the tests of the state machine work without it, and the mixin's own import fails plainly then).
    """
    found = found if found is not None else installed_freqtrade()
    if found is None:
        return None
    try:
        release = _release(found)
    except ValueError:
        logger.warning("ts_plugin: cannot read freqtrade's version %r; needs freqtrade >= %s", found,
                       MIN_FREQTRADE)
        return found
    if release < _release(MIN_FREQTRADE):
        raise incompatible_error(
            f"ts_plugin needs freqtrade >= {MIN_FREQTRADE}, found freqtrade {found}. Upgrade freqtrade "
            f"(pip install -U 'freqtrade>={MIN_FREQTRADE}', or the {MIN_FREQTRADE} docker image) or "
            "use a ts_plugin release made for your freqtrade."
        )
    if release[:2] > _release(TESTED_FREQTRADE)[:2]:
        logger.warning("ts_plugin was tested with freqtrade %s; found %s (newer): it should work, "
                       "report anything odd with both versions.", TESTED_FREQTRADE, found)
    return found
