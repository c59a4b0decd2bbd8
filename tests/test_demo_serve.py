"""`mailwarden demo` as a new user runs it: it seeds, serves and prints where and how to sign in."""

import os
import re
import subprocess
import sys
import time

import httpx

from tests.conftest import port_open


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_the_console_and_prints_the_login(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MW_")}
    env.update(MW_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailwarden.cli", "demo", "--port", str(port), "--items", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        banner = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner.append(line)
            if "Press Ctrl+C" in line:
                break
        text = "".join(banner)
        assert f"http://127.0.0.1:{port}/" in text, text
        login = re.search(r"Sign in:\s+admin / (\S+)", text)
        assert login, text
        assert login.group(1) == (tmp_path / "demo-password").read_text().strip()
        # The banner comes just before the server binds; wait for the port, not for time.
        while not port_open("127.0.0.1", port) and time.monotonic() < deadline:
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError("demo exited early: " + proc.stdout.read())
        assert httpx.get(f"http://127.0.0.1:{port}/livez").json() == {"status": "ok"}
        page = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True)
        assert page.status_code == 200
        assert "Sign in" in page.text or "sign in" in page.text
        signs_in_and_works(f"http://127.0.0.1:{port}", login.group(1))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def signs_in_and_works(base: str, password: str) -> None:
    """The served console end to end: CSRF, a session, pages, static files and the API."""
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert csrf, form.text
        fields = {"csrfmiddlewaretoken": csrf.group(1), "username": "admin"}
        refused = browser.post("/login/", data={**fields, "password": "not-it"})
        assert refused.status_code == 200 and "/logout/" not in refused.text
        signed_in = browser.post("/login/", data={**fields, "password": password})
        assert signed_in.status_code == 302
        dashboard = browser.get("/")
        assert dashboard.status_code == 200 and "/logout/" in dashboard.text
        css = browser.get("/static/core/console.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        items = browser.get("/api/items", params={"limit": 5})
        assert items.status_code == 200 and len(items.json()) == 5


def test_demo_seed_only_seeds_with_progress_and_exits(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MW_")}
    env.update(MW_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    done = subprocess.run(
        [sys.executable, "-m", "mailwarden.cli", "demo", "--seed-only", "--items", "12"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    # One line per app as it goes, then what was seeded; no server, no banner.
    assert "Seeding the demo data:" in done.stderr
    assert re.search(r"^  training… \d+\.\d s$", done.stderr, re.MULTILINE), done.stderr
    assert "TIP training images answered" in done.stdout and "Console:" not in done.stdout
    assert (tmp_path / "demo-password").exists()
