"""The package's folders are its architecture: imports run one way, and the pure core stays pure.

    cli -> tools -> strategy -> exchange -> core

Nothing imports a layer above its own; only the tools, the command and the tests import the sandbox;
the sandbox imports nothing else of the package; ``core`` imports nothing of freqtrade, ccxt, databases
or plotting. Read from the source (every ``import``, at module level or inside a function), so a lazy
import cannot hide a wrong direction.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ts_plugin"

# Higher may import lower. ``data`` holds the shipped sample strategy: a user's strategy, on top.
LAYERS = {"core": 0, "exchange": 1, "strategy": 2, "tools": 3, "cli": 4, "data": 5}
SANDBOX_USERS = {"tools", "cli"}
# What the pure core may never import (the adapters' business).
# What ``from ts_plugin import X`` reaches, and where it is defined.
FRONT_DOOR = {"SmartTrailingMixin": "strategy", "__version__": "__init__", "": "__init__"}
CORE_FORBIDDEN = {"freqtrade", "ccxt", "sqlalchemy", "psycopg", "requests", "plotly", "freqtrade_client",
                  "aiohttp", "telegram"}


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py"))


def _part(path: Path) -> str:
    """The package folder a module belongs to (``__init__`` for the package's own front door).

    A ``__main__`` module is a command (``python -m ts_plugin.sandbox`` is ``ts-plugin sandbox``)."""
    relative = path.relative_to(PACKAGE).parts
    if path.name == "__main__.py":
        return "cli"
    return relative[0] if len(relative) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; the layer rule reads absolute ones"
            names = [f"{node.module}.{alias.name}" for alias in node.names] if node.module == "ts_plugin" else []
            found.extend((node.lineno, name) for name in names or [node.module])
    return found


def _target_part(module: str) -> str | None:
    """The folder an imported name lives in; the front door's names (``from ts_plugin import X``) count
    where they are defined."""
    parts = module.split(".")
    if parts[0] != "ts_plugin":
        return None
    if len(parts) == 1 or parts[1] in FRONT_DOOR:
        return FRONT_DOOR.get(parts[1] if len(parts) > 1 else "", "__init__")
    return parts[1]


def test_the_tree_has_the_documented_folders():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {"core", "strategy", "exchange", "tools", "cli", "sandbox"} <= folders
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules at the package root belong in a layer folder: {loose}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
    source = _part(path)
    wrong = []
    for line, module in _imports(path):
        target = _target_part(module)
        if target is None or target == source:
            continue
        if source == "__init__":
            # the front door re-exports the mixin and checks freqtrade's version, nothing else
            if target != "strategy":
                wrong.append(f"line {line}: the package's __init__ imports {module}")
            continue
        if target == "sandbox":
            if source not in SANDBOX_USERS:
                wrong.append(f"line {line}: {source}/ imports the sandbox ({module}); only tools and cli may")
            continue
        if source == "sandbox":
            wrong.append(f"line {line}: the sandbox imports {module}; it stands alone")
            continue
        if target == "__init__":
            continue  # the package's version
        if LAYERS.get(target, 99) > LAYERS[source]:
            wrong.append(f"line {line}: {source}/ imports {module} from above it ({target}/)")
    assert wrong == [], f"{path.relative_to(PACKAGE)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: p.name)
def test_the_core_imports_nothing_of_freqtrade_ccxt_or_databases(path):
    bad = [f"line {line}: {module}" for line, module in _imports(path)
           if module.split(".")[0] in CORE_FORBIDDEN]
    assert bad == [], f"core/{path.name} must stay pure:\n" + "\n".join(bad)


def test_the_rule_catches_a_wrong_direction(tmp_path):
    """The check itself: an upward import in a core module is found."""
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from ts_plugin.strategy.mixin import SmartTrailingMixin\n")
    targets = [_target_part(name) for _, name in _imports(module)]
    assert targets == ["strategy"] and LAYERS["strategy"] > LAYERS["core"]


def test_documented_imports_still_work():
    from ts_plugin import SmartTrailingMixin
    from ts_plugin.strategy.mixin import SmartTrailingMixin as Direct

    assert SmartTrailingMixin is Direct
