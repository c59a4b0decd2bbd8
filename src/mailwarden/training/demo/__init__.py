"""Training for ``mailwarden demo``: the shipped courses with learners part-way through them and
a few certificates (one expired), screeners with TIP trials behind them, and one planted test
parcel on its way. Each part is seeded through the training services by its own module."""

from __future__ import annotations

from mailwarden.core.plugins import DemoOptions, DemoSeeder


class TrainingDemo(DemoSeeder):
    def present(self) -> str | None:
        from mailwarden.training.models import Certificate

        count = Certificate.objects.count()
        return f"{count} training certificates" if count else None

    def seed(self, options: DemoOptions) -> str:
        from mailwarden.training.demo import courses, parcels, tip

        parts = [courses.seed(options), tip.seed(options), parcels.seed(options)]
        return "; ".join(p for p in parts if p)
