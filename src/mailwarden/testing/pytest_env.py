"""Loaded with ``-p`` so it runs before pytest-django reads the Django settings.

A conftest would be too late: pytest-django configures Django while conftests are still loading,
and the settings read MW_* once.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("MW_ENV", "test")
os.environ.setdefault("MW_DATA_DIR", tempfile.mkdtemp(prefix="mailwarden-test-"))
os.environ.setdefault("MW_RUN_TASKS_IN_PROCESS", "false")
