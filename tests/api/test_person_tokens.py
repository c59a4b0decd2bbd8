"""No one can act as two people (issue 11, point 1).

A token that acts for a person is issued by that person alone and carries at most their roles, and
two-person rules count people by identity: the proposer's own tokens, a token someone else issued
for a person, a device and a job are never the second person.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.models import ApiToken, LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user, issue_token, set_user_roles
from mailwarden.core.tokens import TOKEN_PREFIX, authenticate, secret_hash
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from tests.api.conftest import Api, assert_refused, snapshot, token_for
from tests.factories import ADMIN, intake, make_recipient, make_site


@dataclass(frozen=True)
class Someone:
    user: User
    api: Api


def someone(username: str, role: Role) -> Someone:
    user = create_user(ADMIN, username, password="x", roles=[role.value], check_password=False)
    return Someone(user, Api(token_for(role, user)))


@pytest.fixture
def people(db, settings) -> dict[str, Someone]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {
        "ada": someone("ada", Role.ADMIN),
        "rita": someone("rita", Role.RECIPIENT),
        "mona": someone("mona", Role.SECURITY_MANAGER),
        "sam": someone("sam", Role.SCREENER),
    }


@pytest.fixture
def evacuate_item(people) -> MailItem:
    """An item a screener found critical: held where it was found, awaiting two people."""
    item = intake(make_site(), make_recipient())
    response = people["sam"].api.post(
        f"/api/items/{item.uid}/screening", {"indicators": ["ticking-sloshing-buzzing"]}
    )
    assert response.status_code == 201, response.content
    assert (response.json()["tier"], response.json()["action"]) == ("critical", "evacuate")
    return MailItem.objects.get(uid=item.uid)


def legacy_token(user: User, role: Role, issued_by: User | None) -> str:
    """A token as the database may hold it from before tokens had to be their person's own:
    issued by someone else for ``user`` with a role they need not hold."""
    prefix = "1e9acc01"
    secret = f"{TOKEN_PREFIX}{prefix}_legacy-secret"
    ApiToken.objects.create(
        name="from an older release",
        prefix=prefix,
        secret_hash=secret_hash(secret),
        role=role.value,
        user=user,
        issued_by=issued_by,
        created_at=clock.now(),
    )
    return secret


def decided_by(uid: str) -> set[str]:
    decisions = ledger.stored_as(
        "screening.quarantine_outcome.proposed", "screening.quarantine_outcome.confirmed"
    )
    return {e.actor for e in ledger.entries_for("mailitem", uid) if e.action in decisions}


def test_one_admin_cannot_release_a_critical_item_alone(people, evacuate_item):
    """The attack of issue 11: an admin mints a token for a recipient and confirms their own
    proposal with it. Every step of it is refused, and the item stays in quarantine."""
    ada = people["ada"].api
    before = snapshot()
    minted = ada.post("/api/tokens", {"name": "x", "role": "security_manager", "username": "rita"})
    assert_refused(minted, 403, "role")
    # Even with a role rita holds, a token that acts for her is hers to issue, not ada's.
    assert_refused(
        ada.post("/api/tokens", {"name": "x", "role": "recipient", "username": "rita"}),
        403,
        "username",
    )
    assert snapshot() == before
    assert not ApiToken.objects.filter(user=people["rita"].user).exclude(
        issued_by=people["rita"].user
    )

    proposed = ada.post(
        f"/api/items/{evacuate_item.uid}/quarantine-outcome",
        {"outcome": "released", "reason": "it is fine, trust me"},
    )
    assert proposed.status_code == 201, proposed.content
    confirm = f"/api/quarantine/requests/{proposed.json()['id']}/confirm"

    # ada's own second token, with the confirming role, is still ada.
    own = ada.post("/api/tokens", {"name": "x", "role": "security_manager", "username": "ada"})
    assert own.status_code == 201, own.content
    assert_refused(Api(own.json()["secret"]).post(confirm), 403, "request_id")
    # A token from before the fix, minted by ada for rita, carries only rita's roles...
    for_rita = legacy_token(people["rita"].user, Role.SECURITY_MANAGER, people["ada"].user)
    assert_refused(Api(for_rita).post(confirm), 403, None)
    ApiToken.objects.filter(prefix="1e9acc01").delete()
    # ...and one minted by ada for a real security manager never counts as mona either.
    for_mona = legacy_token(people["mona"].user, Role.SECURITY_MANAGER, people["ada"].user)
    refused = assert_refused(Api(for_mona).post(confirm), 403, None)
    assert "named person" in refused["message"]

    assert MailItem.objects.get(uid=evacuate_item.uid).state == State.QUARANTINED
    assert decided_by(evacuate_item.uid) == {"user:ada"}

    # Two real people still release it: mona, with her own token.
    confirmed = people["mona"].api.post(confirm)
    assert confirmed.status_code == 200, confirmed.content
    assert MailItem.objects.get(uid=evacuate_item.uid).state == State.RELEASED
    assert decided_by(evacuate_item.uid) == {"user:ada", "user:mona"}


def test_the_proposers_own_tokens_never_confirm_an_elevated_decision(people):
    item = intake(make_site(), make_recipient())
    sam = people["sam"]
    decision = sam.api.post(
        f"/api/items/{item.uid}/screening",
        {"indicators": ["no-return-address", "misspelled-words"]},
    ).json()
    assert decision["status"] == "pending"
    second = Api(token_for(Role.SCREENER, sam.user))
    confirm = f"/api/screening/decisions/{decision['id']}/confirm"
    assert_refused(second.post(confirm), 403, "decision_id")
    device = issue_token(ADMIN, name="scanner", role="screener", device="xray-1").secret
    assert_refused(Api(device).post(confirm), 403, None)
    assert MailItem.objects.get(uid=item.uid).state == State.AWAITING_SCREENING


def test_a_device_or_job_is_never_the_second_person(people, evacuate_item):
    from mailwarden.screening import services as screening

    request = screening.propose_quarantine_outcome(
        Actor.for_user(people["sam"].user), evacuate_item.uid, "released", "harmless"
    )
    device = issue_token(ADMIN, name="hub", role="security_manager", device="hub-1").secret
    refused = assert_refused(
        Api(device).post(f"/api/quarantine/requests/{request.pk}/confirm"), 403, None
    )
    assert "named person" in refused["message"]
    from mailwarden.core.errors import Forbidden

    with pytest.raises(Forbidden, match="named person"):
        screening.confirm_quarantine_outcome(ADMIN, request.pk)
    assert MailItem.objects.get(uid=evacuate_item.uid).state == State.QUARANTINED


def test_a_person_issues_their_own_token_and_the_ledger_names_both(people):
    rita = people["rita"].user
    issued = issue_token(Actor.for_user(rita), name="my script", role="recipient", user_id=rita.pk)
    assert (issued.token.user_id, issued.token.issued_by_id) == (rita.pk, rita.pk)
    entry = LedgerEntry.objects.get(action="core.token.issued", subject_id=issued.token.prefix)
    data = ledger.entry_data(entry)
    assert (data["acts_for"], data["issued_by"], data["role"]) == ("rita", "user:rita", "recipient")
    actor = authenticate(issued.secret)
    assert actor is not None
    assert (actor.person_id, actor.roles) == (rita.pk, frozenset({Role.RECIPIENT}))

    with pytest.raises(Exception) as refused:
        issue_token(Actor.for_user(rita), name="x", role="clerk", user_id=rita.pk)
    assert getattr(refused.value, "field", None) == "role"


def test_the_admin_issues_a_token_for_themselves_through_the_api(people):
    ada = people["ada"].api
    issued = ada.post("/api/tokens", {"name": "cron", "role": "auditor", "username": "ada"})
    assert issued.status_code == 201, issued.content
    assert issued.json()["username"] == "ada"
    entry = LedgerEntry.objects.get(action="core.token.issued", subject_id=issued.json()["prefix"])
    assert ledger.entry_data(entry)["acts_for"] == "ada"
    assert Api(issued.json()["secret"]).get("/api/ledger/verify").status_code == 200


def test_a_token_loses_what_its_person_loses(people):
    mona = people["mona"]
    assert mona.api.get("/api/quarantine").status_code == 200
    set_user_roles(ADMIN, "mona", ["clerk"])
    # The role change revoked the token; even a token that escaped revocation would carry only
    # roles mona still holds (core.tokens.authenticate).
    assert_refused(mona.api.get("/api/quarantine"), 401, "Authorization")
    kept = legacy_token(mona.user, Role.SECURITY_MANAGER, mona.user)
    actor = authenticate(kept)
    assert actor is not None and actor.roles == frozenset()
    assert_refused(Api(kept).get("/api/quarantine"), 403, None)


def test_a_refused_role_learns_nothing_of_the_token_schema(people, as_role):
    clerk = as_role(Role.CLERK)
    assert_refused(clerk.post("/api/tokens", {"role": "king", "expires_at": 7}), 403, None)


def test_a_job_or_the_command_line_cannot_issue_a_token_that_acts_for_a_person(people):
    from mailwarden.core.errors import Forbidden

    rita = people["rita"].user
    with pytest.raises(Forbidden) as refused:
        issue_token(ADMIN, name="x", role="recipient", user_id=rita.pk)
    assert refused.value.field == "username"
    device = issue_token(ADMIN, name="hub", role="clerk", device="hub-2")
    assert authenticate(device.secret) is not None
