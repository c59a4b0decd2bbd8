from __future__ import annotations

import subprocess
import sys


def test_library_imports_neither_django_nor_network_clients():
    # a fresh interpreter: every module of the package, then a look at what came with it
    code = (
        "import sys, pkgutil, importlib, mailwarden.xray as x\n"
        "for m in pkgutil.iter_modules(x.__path__):\n"
        "    importlib.import_module('mailwarden.xray.' + m.name)\n"
        "from mailwarden.xray.materials import mass_attenuation\n"
        "mass_attenuation('lead')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'requests', 'urllib3')]\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
