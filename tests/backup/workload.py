"""The backup tests' installation, run as a subprocess with its own MW_DATA_DIR (and database).

``build N``: migrate, then a site, recipients and N intakes with photos, a signed checkpoint,
and a few intakes after it (so the ledger runs past its newest checkpoint).
``intakes STOPFILE``: keep logging items, printing the running count, until STOPFILE exists.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path


def photo(n: int) -> bytes:
    from PIL import Image

    # Each item's photo differs, so each is a media file of its own.
    image = Image.new("RGB", (64, 48), ((n * 37) % 256, (n * 11) % 256, (n // 256) % 256))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def log_item(n: int) -> None:
    from mailwarden.custody import services
    from mailwarden.directory.models import Recipient
    from tests.factories import CLERK

    recipient = Recipient.objects.order_by("pk").first()
    assert recipient is not None
    request = services.IntakeRequest(
        site="hq", recipient_id=recipient.pk, kind="parcel", photo=photo(n), sender=f"S{n}"
    )
    services.intake(CLERK, request)


def build(items: int) -> None:
    from django.core.management import call_command

    from mailwarden.core import checkpoints
    from mailwarden.core.actor import Actor
    from tests.factories import make_recipient, make_site

    call_command("migrate", interactive=False, verbosity=0)
    make_site("hq")
    for _ in range(3):
        make_recipient()
    for n in range(items):
        log_item(n)
    checkpoints.write(Actor.job("tests"))
    for n in range(items, items + 3):
        log_item(n)


def intakes(stop: Path) -> None:
    done = 0
    while not stop.exists():
        log_item(10_000 + done)
        done += 1
        print(done, flush=True)


def main(argv: list[str]) -> int:
    from mailwarden.core.terminal import setup_django

    setup_django(needs_database=False)
    if argv[0] == "build":
        build(int(argv[1]))
    elif argv[0] == "intakes":
        intakes(Path(argv[1]))
    else:
        print(f"unknown command {argv[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
