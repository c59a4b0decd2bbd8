import pytest

from mailwarden.core import ledger
from mailwarden.core.demo import demo_logins, seed
from mailwarden.core.models import LedgerEntry
from mailwarden.custody.models import MailItem, SiteMailHold
from mailwarden.custody.states import State
from mailwarden.directory.models import Recipient, Site
from mailwarden.incidents.models import Incident, RollCallAnswer
from mailwarden.screening.demo import decide_quarantine


@pytest.mark.django_db
def test_demo_seeds_every_state_once():
    first = seed(items=200, recipients=50, seed=7, skip={"screening", "training", "risk"})
    assert first.created
    # The incidents' past: closed incidents, a drill with its report, a roll call answered.
    summary = first.summary()
    assert "Seeded 3 closed incidents" in summary and "evacuation drill with its report" in summary
    assert Incident.objects.filter(state="closed").count() == 4
    assert RollCallAnswer.objects.exclude(answer="").exists()
    assert Site.objects.count() == 1
    assert Recipient.objects.count() == 50
    assert MailItem.objects.count() == 200
    states = set(MailItem.objects.values_list("state", flat=True))
    # Leaving quarantine takes two people's decision, which screening's part of the demo makes.
    exits = {State.RELEASED, State.DESTROYED, State.HANDED_TO_AUTHORITIES}
    assert states == set(State.values) - {State.RECEIVED} - exits
    held = MailItem.objects.filter(state=State.QUARANTINED).count()
    decided = decide_quarantine(seed=7)
    assert 0 < decided < held
    states = set(MailItem.objects.values_list("state", flat=True))
    assert states == set(State.values) - {State.RECEIVED}
    confirmations = LedgerEntry.objects.filter(
        action="screening.quarantine_outcome.confirmed"
    ).values_list("actor", "body")
    assert len(confirmations) == decided
    for actor, body in confirmations:
        assert actor == "user:admin" and '"proposed_by":"user:manager"' in body
    # The past's playbook steps left the live demo's doors and items alone.
    assert not SiteMailHold.objects.exists()
    assert ledger.verify().ok
    head = ledger.verify().head_seq

    again = seed(items=200, recipients=50, seed=7)
    assert not again.created
    assert MailItem.objects.count() == 200
    assert ledger.verify().head_seq == head


@pytest.mark.django_db
def test_demo_login_is_printed_from_the_data_folder():
    seed(items=12, recipients=5, seed=1, skip={"screening", "training", "risk"})
    logins = demo_logins()
    assert logins.username == "admin"
    assert len(logins.password) >= 12
    assert set(logins.role_users) == {
        "admin",
        "manager",
        "operator",
        "screener",
        "clerk",
        "auditor",
        "recipient",
    }
    from django.contrib.auth.models import User

    assert User.objects.get(username="clerk").check_password(logins.password)


@pytest.mark.django_db
def test_demo_gives_the_screener_real_scans():
    from mailwarden.screening.models import Scan

    result = seed(items=24, recipients=8, seed=3)
    awaiting = MailItem.objects.filter(state=State.AWAITING_SCREENING)
    assert awaiting.exists()
    scanned = set(Scan.objects.values_list("item__uid", flat=True))
    assert set(awaiting.values_list("uid", flat=True)) <= scanned
    assert "X-ray scans" in result.summary()


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def started(self, label: str) -> None:
        self.calls.append(("started", label))

    def finished(self, label: str, part: str, seconds: float) -> None:
        assert seconds >= 0
        self.calls.append(("finished", label))


@pytest.mark.django_db
def test_demo_reports_each_apps_part_as_it_goes():
    recorder = _Recorder()
    seed(items=12, recipients=5, seed=1, skip={"screening", "training", "risk"}, progress=recorder)
    labels = [label for what, label in recorder.calls if what == "started"]
    assert labels[:3] == ["core", "directory", "custody"]
    assert "screening" not in labels
    # Each part is announced before it runs and reported once it is done, one after another.
    assert recorder.calls == [(w, label) for label in labels for w in ("started", "finished")]


@pytest.mark.django_db
def test_demo_recipient_sign_in_is_a_directory_person_with_mail():
    from django.contrib.auth.models import User

    from mailwarden.core.actor import Actor
    from mailwarden.custody.queries import my_items

    seed(items=40, recipients=10, seed=7, skip={"screening", "training", "risk"})
    user = User.objects.get(username="recipient")
    person = Recipient.objects.get(user=user)
    assert person.display_name == f"{user.first_name} {user.last_name}"
    assert person.email == user.email
    rows = my_items(Actor.for_user(user))
    states = {row.item.state for row in rows}
    assert {
        State.AWAITING_SCREENING,
        State.READY_FOR_PICKUP,
        State.DELIVERED,
        State.PICKED_UP,
    } <= states
    assert all(row.item.recipient_id == person.pk for row in rows)
    assert any(row.pickup_code for row in rows if row.item.state == State.READY_FOR_PICKUP)
