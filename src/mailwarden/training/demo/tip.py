"""Demo: three screeners with TIP training behind them, answered by simulated screeners of
different sensitivity, so the proficiency pages have something to show.

Each simulated screener answers as signal detection theory describes: a threat image gives an
impression drawn from N(+d′/2, 1), a clean one from N(−d′/2, 1), and they say "threat" above
their criterion, marking the threat where it is (or, on a clean image, somewhere at random).
Everything goes through the TIP services under a back-dated clock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.contrib.auth.models import AbstractUser, User

from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.demo import demo_logins
from mailwarden.core.plugins import DemoOptions
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.training.services import tip
from mailwarden.training.services.tip_images import shared_images

# Each image is simulated and rendered, so the demo keeps to the fewest (40 each) that still
# measure a screener's d′.
SESSION_SIZE = 10
# Different images made for each threat category (or none) at each level; the simulated
# screeners answer the rest from them (tip_images.shared_images), so seeding takes seconds.
IMAGES_PER_KIND = 2


@dataclass(frozen=True)
class Trainee:
    username: str
    first_name: str
    last_name: str
    dprime: float
    criterion: float
    sessions: int


TRAINEES = (
    # The demo's own screener sign-in: a sharp eye.
    Trainee("screener", "Priya", "Shah", 2.3, 0.2, 4),
    Trainee("screener2", "Tomas", "Berg", 1.4, 0.0, 4),
    Trainee("screener3", "Aiko", "Mori", 0.7, -0.3, 4),
)


def _user(trainee: Trainee, when: FrozenClock) -> AbstractUser:
    existing = User.objects.filter(username=trainee.username).first()
    if existing is not None:
        return existing
    password = demo_logins().password or secrets.token_urlsafe(9)
    with use_clock(when):
        return create_user(
            Actor.job("demo-seed"),
            trainee.username,
            password=password,
            roles=[Role.SCREENER.value],
            email=f"{trainee.username}@example.org",
            first_name=trainee.first_name,
            last_name=trainee.last_name,
            check_password=False,
        )


def _answer(
    actor: Actor,
    trainee: Trainee,
    trial_id: int,
    bbox: list[float] | None,
    rng: np.random.Generator,
) -> None:
    shift = trainee.dprime / 2 if bbox is not None else -trainee.dprime / 2
    says_threat = rng.normal(shift, 1.0) > trainee.criterion
    ms = int(min(60_000, rng.lognormal(np.log(4_000), 0.4)))
    if not says_threat:
        tip.answer(actor, trial_id, response=tip.CLEAR, response_ms=ms)
        return
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        mark = (float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)))
    else:
        mark = (float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8)))
    tip.answer(actor, trial_id, response=tip.THREAT, mark=mark, response_ms=ms)


def seed(options: DemoOptions) -> str:
    with shared_images(IMAGES_PER_KIND) as pool:
        answered = seed_trainees(options, TRAINEES, SESSION_SIZE)
    return (
        f"{len(TRAINEES)} screeners with {answered} TIP training images answered"
        f" ({pool.made} different images)"
    )


def seed_trainees(options: DemoOptions, trainees: tuple[Trainee, ...], size: int) -> int:
    """Each trainee's sessions of ``size`` images, five days apart; the images answered."""
    rng = np.random.default_rng(options.seed + 14)
    clock = FrozenClock(options.history_from + timedelta(hours=9))
    answered = 0
    for number, trainee in enumerate(trainees):
        user = _user(trainee, clock)
        actor = Actor.for_user(user)
        for session_number in range(trainee.sessions):
            clock.current = options.history_from + timedelta(
                days=2 + session_number * 5 + number, hours=9 + number
            )
            with use_clock(clock):
                session = tip.start_session(
                    actor,
                    size=size,
                    threat_share=0.5,
                    seed=options.seed * 1000 + number * 10 + session_number,
                )
                while (trial := tip.current_trial(actor, session.pk)) is not None:
                    clock.advance(seconds=float(rng.uniform(3, 9)))
                    _answer(actor, trainee, trial.pk, trial.bbox, rng)
                    answered += 1
    return answered
