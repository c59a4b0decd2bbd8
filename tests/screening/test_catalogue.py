"""The indicator catalogue and per-site policies: seeded, editable by a security manager only,
recorded on the ledger, and refused naming the field when unsound."""

from __future__ import annotations

import pytest

from mailwarden.core import ledger
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.screening import services
from mailwarden.screening.models import Indicator
from mailwarden.screening.services import Checklist, PolicyUpdate
from tests.screening.conftest import MANAGER_A, SCREENER_A, snapshot


def test_the_catalogue_holds_every_indicator_with_a_weight(db):
    codes = list(Indicator.objects.values_list("code", flat=True))
    assert len(codes) == 19
    for code in (
        "no-return-address",
        "restrictive-markings",
        "protruding-wires",
        "powder-residue",
        "ticking-sloshing-buzzing",
        "postmark-mismatch",
        "threatening-language",
        "damaged-wrapping",
    ):
        assert code in codes
    assert all(i.default_weight > 0 and i.label for i in Indicator.objects.all())


def test_a_site_without_a_policy_uses_the_defaults(site):
    view = services.site_policy(site)
    assert (view.version, view.customised, view.confirm_within_minutes) == (0, False, 30)
    assert view.policy.indicator_weights["powder-residue"] == 9


def test_a_security_manager_changes_the_policy_on_the_ledger(site, item):
    view = services.update_policy(
        MANAGER_A,
        site.code,
        PolicyUpdate(
            indicator_weights={"no-return-address": 3},
            high_risk_employee_ids=[" E1001 ", "e1001", "E2002"],
            actions={"elevated": "quarantine"},
            expected_version=0,
        ),
    )
    assert view.version == 1
    assert view.policy.indicator_weights["no-return-address"] == 3
    assert view.high_risk_employee_ids == ("E1001", "E2002")
    entry = ledger.entries_for("site", site.code)[-1]
    assert entry.action == "screening.policy.updated"
    assert entry.actor == "user:mona"
    assert ledger.entry_data(entry)["indicator_weights"] == {"no-return-address": 3}
    # the new weight makes one missing return address elevated, which now means quarantine
    decision = services.screen_item(SCREENER_A, item.uid, Checklist(["no-return-address"]))
    assert (decision.tier, decision.action) == ("elevated", "quarantine")


@pytest.mark.parametrize(
    ("actor", "change", "error", "field"),
    [
        (SCREENER_A, PolicyUpdate(elevated_at=3), Forbidden, None),
        (
            MANAGER_A,
            PolicyUpdate(indicator_weights={"glitter": 2}),
            ServiceError,
            "indicator_weights.glitter",
        ),
        (
            MANAGER_A,
            PolicyUpdate(indicator_weights={"lopsided": -2}),
            ServiceError,
            "indicator_weights.lopsided",
        ),
        (MANAGER_A, PolicyUpdate(high_at=1), ServiceError, "high_at"),
        (MANAGER_A, PolicyUpdate(xray_tiers={"banana": "high"}), ServiceError, "xray_tiers.banana"),
        (MANAGER_A, PolicyUpdate(actions={"critical": "clear"}), ServiceError, "actions"),
        (MANAGER_A, PolicyUpdate(confirm_within_minutes=0), ServiceError, "confirm_within_minutes"),
        (
            MANAGER_A,
            PolicyUpdate(high_risk_departments=["ok", " "]),
            ServiceError,
            "high_risk_departments.1",
        ),
        (MANAGER_A, PolicyUpdate(elevated_at=3, expected_version=4), Conflict, "expected_version"),
        (MANAGER_A, PolicyUpdate(), ServiceError, None),
    ],
)
def test_bad_policy_changes_are_refused_and_change_nothing(site, actor, change, error, field):
    before = snapshot()
    with pytest.raises(error) as refused:
        services.update_policy(actor, site.code, change)
    assert refused.value.field == field
    assert snapshot() == before


def test_an_unknown_site_is_named(db):
    with pytest.raises(NotFound) as refused:
        services.update_policy(MANAGER_A, "nowhere", PolicyUpdate(elevated_at=1))
    assert refused.value.field == "code"
