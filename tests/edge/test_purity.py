"""docs/architecture.md rule 4: the edge library imports neither Django nor the apps."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import mailwarden.edge as edge
for module in pkgutil.iter_modules(edge.__path__):
    importlib.import_module(f"mailwarden.edge.{module.name}")
ours = [m for m in sys.modules if m.startswith("mailwarden.")]
print("\\n".join(sorted(ours + [m for m in sys.modules if m.split(".")[0] == "django"])))
"""


def test_edge_imports_only_itself():
    loaded = subprocess.run(
        [sys.executable, "-c", CHECK], check=True, capture_output=True, text=True
    ).stdout.split()
    assert loaded, "nothing was imported"
    assert all(name.startswith("mailwarden.edge") for name in loaded), loaded
