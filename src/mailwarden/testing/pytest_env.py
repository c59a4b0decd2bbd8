"""Loaded with ``-p`` so it runs before pytest-django reads the Django settings.

A conftest would be too late: pytest-django configures Django while conftests are still loading,
and the settings read MW_* once.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("MW_ENV", "test")
os.environ.setdefault("MW_DATA_DIR", tempfile.mkdtemp(prefix="mailwarden-test-"))
# pytest-xdist's workers inherit the folder above: each takes a folder of its own in it, so one
# worker's media, checkpoints and files never show up in another's tests.
_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    _own = os.path.join(os.environ["MW_DATA_DIR"], _worker)
    os.makedirs(_own, exist_ok=True)
    os.environ["MW_DATA_DIR"] = _own
os.environ.setdefault("MW_RUN_TASKS_IN_PROCESS", "false")
