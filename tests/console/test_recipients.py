"""The recipient directory, its CSV import, and a recipient's own view of their mail."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.custody import pickup, services
from mailwarden.directory.models import Recipient
from tests.factories import CLERK, SCREENER, intake, make_recipient

GOOD_CSV = (
    "employee_id,first_name,last_name,email,department,mail_stop\n"
    "E9001,Katherine,Johnson,katherine.johnson@example.org,Research,B2-110\n"
    "E9002,Dorothy,Vaughan,dorothy.vaughan@example.org,Computing,B2-112\n"
)
BAD_CSV = (
    "employee_id,first_name,last_name,email\n"
    "E9101,Mary,Jackson,mary.jackson@example.org\n"
    "E9102,,Darden,christine.darden@example.org\n"
    "E9103,Annie,Easley,not-an-email\n"
)


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")


def test_directory_lists_and_searches(as_role, recipient):
    make_recipient(first_name="Alan", last_name="Turing", department="Codebreaking")
    client = as_role(Role.CLERK)
    body = client.get("/recipients/").content.decode()
    assert "Margaret Hamilton" in body and "Alan Turing" in body
    found = client.get("/recipients/", {"q": "codebreak"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Alan Turing" in found and "Margaret Hamilton" not in found
    # Only people who may import see the button.
    assert "/recipients/import/" not in body
    assert (
        "/recipients/import/" in as_role(Role.SECURITY_MANAGER).get("/recipients/").content.decode()
    )


def test_good_csv_is_imported(as_role, db):
    response = as_role(Role.SECURITY_MANAGER).post(
        "/recipients/import/", {"file": upload(GOOD_CSV)}
    )
    assert response.status_code == 302
    assert set(Recipient.objects.values_list("employee_id", flat=True)) == {"E9001", "E9002"}


def test_bad_csv_lists_every_bad_line_and_imports_nothing(as_role, recipient):
    manager = as_role(Role.SECURITY_MANAGER)
    before = (Recipient.objects.count(), LedgerEntry.objects.count())
    response = manager.post("/recipients/import/", {"file": upload(BAD_CSV)})
    assert response.status_code == 400
    body = response.content.decode()
    assert "nothing was imported" in body
    rows = re.findall(r'<tr><td class="mono">(\d+)</td><td class="mono">([^<]+)</td>', body)
    assert ("3", "first_name") in rows and ("4", "email") in rows
    assert (Recipient.objects.count(), LedgerEntry.objects.count()) == before


def test_non_utf8_file_is_refused_by_line(as_role, db):
    response = as_role(Role.SECURITY_MANAGER).post(
        "/recipients/import/",
        {"file": SimpleUploadedFile("p.csv", "employee_id\nÉ1\n".encode("latin-1"))},
    )
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()
    assert not Recipient.objects.exists()


def test_clerk_cannot_import(as_role, db):
    response = as_role(Role.CLERK).post("/recipients/import/", {"file": upload(GOOD_CSV)})
    assert response.status_code == 403
    assert not Recipient.objects.exists()


def test_recipient_sees_only_their_own_mail_and_the_pickup_code(make_person, site, recipient):
    from django.test import Client

    user = make_person(Role.RECIPIENT, "margaret")
    Recipient.objects.filter(pk=recipient.pk).update(user=user)
    mine = intake(site, recipient)
    services.transition(SCREENER, mine.uid, "cleared")
    services.transition(CLERK, mine.uid, "ready_for_pickup")
    theirs = intake(site, make_recipient(first_name="Alan", last_name="Turing"))
    client = Client()
    client.force_login(user)

    assert client.get("/")["Location"] == "/my/"
    body = client.get("/my/").content.decode()
    assert mine.uid in body and theirs.uid not in body
    assert pickup.pickup_code(mine.uid) in body
    assert "<svg" in body  # the pickup QR
    nav = re.search(r'<nav class="nav".*?</nav>', body, re.S).group(0)
    assert re.findall(r'href="([^"]+)"', nav) == ["/my/", "/incidents/inbox/"]
    assert client.get(f"/items/{theirs.uid}/").status_code == 403
