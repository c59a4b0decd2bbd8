import pytest

from mailwarden.core.durations import spoken


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 seconds"),
        (0.4, "0 seconds"),
        (1, "1 second"),
        (45, "45 seconds"),
        (60, "1 minute"),
        (90, "1 minute 30 seconds"),
        (300, "5 minutes"),
        (25137, "6 hours 58 minutes"),
        (3600 * 2 + 5, "2 hours"),
        (86_400 * 3 + 3600 * 4 + 59, "3 days 4 hours"),
        (-5, "0 seconds"),
    ],
)
def test_durations_read_as_people_say_them(seconds, words):
    assert spoken(seconds) == words
