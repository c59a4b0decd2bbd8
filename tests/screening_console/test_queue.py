"""The screening queue: what waits, the longest-waiting first, and what needs a second look."""

from __future__ import annotations

import re

from mailwarden.core.roles import Role
from mailwarden.screening import services
from tests.factories import intake
from tests.screening.conftest import MANAGER_A, SCREENER_A


def rows(body: str, section: str) -> list[str]:
    table = re.search(rf'data-queue="{section}">(.*?)</table>', body, re.S)
    return re.findall(r'<tr data-uid="([^"]+)"', table.group(1)) if table else []


def test_items_wait_oldest_first_with_their_dwell_time(signed_in, site, recipient, frozen_clock):
    oldest = intake(site, recipient)
    frozen_clock.advance(minutes=50)
    newer = intake(site, recipient)
    frozen_clock.advance(hours=2, minutes=5)
    done = intake(site, recipient)
    services.screen_item(SCREENER_A, done.uid, services.Checklist())
    body = signed_in(Role.SCREENER).get("/screening/").content.decode()
    assert rows(body, "first") == [oldest.uid, newer.uid]
    dwell = dict(re.findall(r'<tr data-uid="([^"]+)">.*?class="dwell"[^>]*>([^<]+)<', body, re.S))
    assert dwell == {oldest.uid: "2 h 55 min", newer.uid: "2 h 5 min"}
    assert 'data-count="first"><strong>2</strong>' in body


def test_a_pending_decision_puts_the_item_in_the_second_screener_list(
    signed_in, item, site, recipient
):
    other = intake(site, recipient)
    services.screen_item(SCREENER_A, item.uid, services.Checklist(indicators=["rigid-bulky"]))
    body = signed_in(Role.SCREENER).get("/screening/").content.decode()
    assert rows(body, "second") == [item.uid]
    assert rows(body, "first") == [other.uid]
    assert "by sam" in body


def test_the_queue_shows_what_the_xray_found(signed_in, item, scanned, site, recipient):
    unscanned = intake(site, recipient)
    body = signed_in(Role.SCREENER).get("/screening/").content.decode()
    found = dict(re.findall(r'<tr data-uid="([^"]+)"[^>]*>.*?(No scan|\d+ regions?)', body, re.S))
    count = len(scanned.regions)
    assert found == {
        item.uid: f"{count} region{'s' if count != 1 else ''}",
        unscanned.uid: "No scan",
    }


def test_items_with_a_high_or_critical_finding_come_first_and_say_so(
    signed_in, site, recipient, knife_pair, frozen_clock
):
    oldest = intake(site, recipient)
    frozen_clock.advance(minutes=10)
    knife = intake(site, recipient)
    services.import_scan(
        SCREENER_A, knife.uid, services.ScanUpload(high=knife_pair.high, low=knife_pair.low)
    )
    frozen_clock.advance(minutes=10)
    newest = intake(site, recipient)
    screener = signed_in(Role.SCREENER)
    body = screener.get("/screening/").content.decode()
    assert rows(body, "first") == [knife.uid, oldest.uid, newest.uid]
    marked = re.search(
        rf'<tr data-uid="{knife.uid}" class="is-alert" data-alert="high">(.*?)</tr>', body, re.S
    )
    assert marked and 'data-finding-tier="high">High X-ray finding' in marked.group(1)
    assert "knife (score" in marked.group(1)
    assert 'data-count="alerts"><strong>1</strong>' in body
    # The site's policy decides the tier: a knife made critical is shown as critical.
    services.update_policy(
        MANAGER_A, site.code, services.PolicyUpdate(xray_tiers={"knife": "critical"})
    )
    body = screener.get("/screening/").content.decode()
    assert rows(body, "first")[0] == knife.uid
    assert 'data-finding-tier="critical">Critical X-ray finding' in body


def test_an_empty_queue_says_so(signed_in, db):
    body = signed_in(Role.SCREENER).get("/screening/").content.decode()
    assert "Nothing waiting" in body
