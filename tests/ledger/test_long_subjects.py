import pytest
from django.db import transaction

from mailwarden.core import ledger
from mailwarden.core.actor import Actor


@pytest.mark.django_db
def test_long_subject_ids_fit_on_every_database():
    # Composite subjects such as "<site>/<area code>" can exceed 100 characters.
    subject = "hq/" + "a" * 200
    with transaction.atomic():
        entry = ledger.append(Actor.job("t"), "access.area.create", "area", subject, {})
    assert entry.subject_id == subject
    assert ledger.verify().ok
