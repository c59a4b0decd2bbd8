"""The layers of docs/architecture.md, enforced: every import in the package is read (ast) and
each one that breaks a rule is named with its file and line."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import mailwarden

ROOT = Path(mailwarden.__file__).parent

# Lower layers first. A module may import from its own layer and the layers below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("directory",),
    ("custody",),
    ("screening", "access"),
    ("incidents", "surveillance", "training"),
    ("risk", "reports"),
)
LAYER_OF = {app: n for n, apps in enumerate(LAYERS) for app in apps}
# Libraries that import neither Django nor the apps; anyone may use them.
PURE = ("contracts", "xray", "vision", "edge")
# Shared settings, usable everywhere.
ANYWHERE = ("config",)
# The process and test entry points sit above every app.
TOP = ("cli", "testing")
# Core and the server machinery name no app: apps plug themselves in.
NAMES_NO_APP = ("core", "server")
# What the pure libraries may not import, besides the apps and the server.
NOT_PURE = ("django", "ninja")


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str
    root: Path

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(self.root.parent)}:{self.line}"


def _package_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path, root: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, alias.name, root) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(Import(path, node.lineno, node.module, root))
            # "from mailwarden import custody" names the app in the alias.
            if node.module == "mailwarden":
                found += [
                    Import(path, node.lineno, f"mailwarden.{alias.name}", root)
                    for alias in node.names
                ]
    return found


def _target(module: str) -> tuple[str, str] | None:
    """(package, rest) of a mailwarden import, or None for anything else."""
    parts = module.split(".")
    if parts[0] != "mailwarden" or len(parts) < 2:
        return None
    return parts[1], ".".join(parts[2:])


def violations(root: Path = ROOT) -> list[str]:
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = _package_of(path, root)
        for imp in _imports(path, root):
            target = _target(imp.module)
            if source in PURE:
                top = imp.module.split(".")[0]
                if top in NOT_PURE:
                    found.append(f"{imp.where}: the pure library {source} imports {imp.module}")
                if target and target[0] not in (*PURE, *ANYWHERE):
                    found.append(f"{imp.where}: the pure library {source} imports {imp.module}")
                continue
            if target is None or target[0] == source:
                continue
            app, rest = target
            if source in TOP or app in PURE or app in ANYWHERE:
                continue
            if source in NAMES_NO_APP:
                if app in LAYER_OF and app != "core":
                    found.append(f"{imp.where}: {source} names the app {app} ({imp.module})")
                if app in TOP:
                    found.append(f"{imp.where}: {source} imports the entry point {imp.module}")
                continue
            if source in ANYWHERE:
                found.append(f"{imp.where}: {source} imports {imp.module}")
                continue
            if app in ("server", *TOP):
                found.append(f"{imp.where}: the app {source} imports {imp.module}")
                continue
            if app not in LAYER_OF or source not in LAYER_OF:
                found.append(f"{imp.where}: {imp.module} has no place in the layers")
                continue
            if LAYER_OF[app] > LAYER_OF[source]:
                found.append(
                    f"{imp.where}: {source} (layer {LAYER_OF[source]}) imports {imp.module} "
                    f"from a higher layer ({app}, layer {LAYER_OF[app]})"
                )
            elif LAYER_OF[app] == LAYER_OF[source] and rest.split(".")[0] == "models":
                found.append(
                    f"{imp.where}: {source} imports the models of {app}, an app on its own "
                    "layer; use its services, queries or contracts"
                )
    return found


def test_every_import_keeps_to_the_layers() -> None:
    assert violations() == []


def test_the_check_names_a_breach_with_file_and_line(tmp_path: Path) -> None:
    # The rule itself is tested on modules written for it, so a broken checker cannot pass; they
    # go in a copy of the package, so the other test (maybe running beside this one) never sees
    # them.
    root = tmp_path / "mailwarden"
    for name in ("custody", "xray", "core"):
        (root / name).mkdir(parents=True)
    (root / "custody" / "_layering_probe.py").write_text(
        "import django\nfrom mailwarden.access import services\n"
        "from mailwarden.screening.models import Scan\n"
    )
    (root / "xray" / "_layering_probe.py").write_text(
        "from django.db import models\nfrom mailwarden.core import ledger\n"
    )
    (root / "core" / "_layering_probe.py").write_text(
        "from mailwarden.custody.models import MailItem\n"
    )
    found = violations(root)
    assert "mailwarden/custody/_layering_probe.py:2: custody (layer 2) imports" in "\n".join(found)
    assert any(v.startswith("mailwarden/custody/_layering_probe.py:3:") for v in found)
    assert any(v.startswith("mailwarden/xray/_layering_probe.py:1:") for v in found)
    assert any(v.startswith("mailwarden/xray/_layering_probe.py:2:") for v in found)
    assert any(v.startswith("mailwarden/core/_layering_probe.py:1:") for v in found)
    assert not any("_layering_probe" in v and ":1: custody" in v for v in found)
