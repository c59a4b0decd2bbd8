"""The Expected page: intake roles import, staff see the not-arrived list, others nothing."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mailwarden.core.roles import Role
from mailwarden.custody import manifests
from mailwarden.custody.models import ExpectedParcel
from tests.custody_batch.conftest import numbers
from tests.factories import CLERK


def signed_in(make_person, role: Role) -> Client:
    client = Client()
    client.force_login(make_person(role))
    return client


def manifest(*rows: str) -> SimpleUploadedFile:
    text = "\n".join(["tracking_number,carrier,recipient,expected_date", *rows]) + "\n"
    return SimpleUploadedFile("ups.csv", text.encode(), content_type="text/csv")


def test_a_clerk_imports_and_sees_each_refused_row(make_person, site, recipient):
    clerk = signed_in(make_person, Role.CLERK)
    page = clerk.get("/expected/")
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content
    good = numbers(1)[0]
    response = clerk.post(
        "/expected/",
        {"site": "hq", "file": manifest(f"{good},ups,{recipient.email},", "1Z1,ups,x,2026-01-01")},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert 'data-row-error="3"' in text and "tracking_number" in text
    assert f'data-expected="{good}"' in text
    assert recipient.display_name in text
    assert ExpectedParcel.objects.count() == 1


def test_a_clean_manifest_redirects_to_the_list(make_person, site, recipient):
    clerk = signed_in(make_person, Role.CLERK)
    response = clerk.post(
        "/expected/", {"site": "hq", "file": manifest(f"{numbers(1)[0]},ups,{recipient.email},")}
    )
    assert response.status_code == 302 and response["Location"] == "/expected/"


def test_a_file_without_a_header_is_refused_on_the_form(make_person, site):
    clerk = signed_in(make_person, Role.CLERK)
    upload = SimpleUploadedFile("x.csv", b"a,b\n1,2\n", content_type="text/csv")
    response = clerk.post("/expected/", {"site": "hq", "file": upload})
    assert response.status_code == 400
    assert b"the header row lacks" in response.content
    assert not ExpectedParcel.objects.exists()


def test_a_screener_sees_the_list_but_may_not_import(make_person, site, recipient):
    manifests.import_manifest(
        CLERK,
        "hq",
        "m.csv",
        f"tracking_number,recipient\n{numbers(1)[0]},{recipient.email}\n".encode(),
    )
    screener = signed_in(make_person, Role.SCREENER)
    page = screener.get("/expected/")
    assert page.status_code == 200
    assert b"data-not-arrived" in page.content and b"Import a manifest" not in page.content
    refused = screener.post("/expected/", {"site": "hq", "file": manifest()})
    assert refused.status_code == 403
    assert ExpectedParcel.objects.count() == 1


def test_a_recipient_is_kept_out(make_person, site):
    person = signed_in(make_person, Role.RECIPIENT)
    assert person.get("/expected/").status_code == 403
    assert person.get("/intake/expected/", {"tracking_number": "1Z"}).status_code == 403


def test_intake_fills_in_the_expected_recipient(make_person, site, recipient):
    number = numbers(1)[0]
    manifests.import_manifest(
        CLERK, "hq", "m.csv", f"tracking_number,recipient\n{number},{recipient.email}\n".encode()
    )
    clerk = signed_in(make_person, Role.CLERK)
    match = clerk.get("/intake/expected/", {"tracking_number": number.lower()}).content.decode()
    assert f'value="{recipient.pk}"' in match and 'hx-swap-oob="true"' in match
    assert recipient.display_name in match
    assert clerk.get("/intake/expected/", {"tracking_number": "1Z0"}).content.strip() == b""
