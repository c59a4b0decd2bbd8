"""The suspicious-mail indicator catalogue, as the postal and security services publish it.

Weights are points towards the site's tier thresholds (defaults: elevated 2, high 5,
critical 9). A single weak sign stays low; signs of a device or an agent reach high or
critical alone. The list is frozen here; later changes come as new migrations.
"""

from django.db import migrations

CATALOGUE = (
    ("no-return-address", "No return address", "No sender or return address on the item.", 1),
    (
        "restrictive-markings",
        "Restrictive markings",
        'Markings such as "personal", "confidential" or "do not X-ray".',
        2,
    ),
    (
        "foreign-origin",
        "Foreign origin or unexpected postmark",
        "Foreign postage or a postmark from a place the recipient has no business with.",
        1,
    ),
    ("excessive-postage", "Excessive postage", "Far more postage than the item needs.", 2),
    ("misspelled-words", "Misspelled words", "Common words or names misspelled.", 1),
    (
        "title-only",
        "Addressed to a title only or with an incorrect title",
        'Addressed to a title ("Chief Executive") without a name, or with a wrong title.',
        1,
    ),
    ("badly-typed", "Badly typed or written", "Poorly typed or hand-written address.", 1),
    ("protruding-wires", "Protruding wires", "Wires or foil sticking out of the item.", 5),
    ("lopsided", "Lopsided or uneven", "The item is lopsided or its contents uneven.", 2),
    ("rigid-bulky", "Rigid or bulky", "An envelope that is rigid or bulky.", 2),
    ("unusual-weight", "Unusual weight", "Heavier than its size or type suggests.", 2),
    ("strange-odour", "Strange odour", "A smell of almonds, marzipan, fuel or chemicals.", 4),
    (
        "stains-discoloration",
        "Oily stains, discoloration or crystallisation",
        "Oily stains, discoloration or crystals on the wrapping.",
        3,
    ),
    ("excessive-tape", "Excessive tape or string", "Far more tape or string than needed.", 2),
    ("powder-residue", "Powder or residue", "Powder or residue on or leaking from it.", 9),
    (
        "ticking-sloshing-buzzing",
        "Ticking, sloshing or buzzing",
        "Any sound from the item: ticking, sloshing or buzzing.",
        9,
    ),
    (
        "postmark-mismatch",
        "Postmark does not match the return address",
        "Posted from a place other than the return address.",
        2,
    ),
    (
        "threatening-language",
        "Threatening language",
        "Threats or warnings written on the item.",
        5,
    ),
    ("damaged-wrapping", "Damaged wrapping", "Torn, resealed or damaged wrapping.", 1),
)


def seed(apps, schema_editor):
    Indicator = apps.get_model("screening", "Indicator")
    for position, (code, label, description, weight) in enumerate(CATALOGUE, start=1):
        Indicator.objects.update_or_create(
            code=code,
            defaults={
                "label": label,
                "description": description,
                "default_weight": weight,
                "position": position,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("screening", "Indicator").objects.filter(
        code__in=[row[0] for row in CATALOGUE]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
