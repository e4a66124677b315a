"""The demo study: what a newcomer sees after `make demo`."""
from django.db import transaction

from readerstudy.studies.models import Arm, Study

DEMO_STUDY = "Demo study (synthetic phantoms)"


@transaction.atomic
def seed_demo(users: dict, write) -> Study:
    study, created = Study.objects.get_or_create(
        name=DEMO_STUDY,
        defaults={
            "description": "A crossover reader study on synthetic phantom exams. No patient data; "
            "the model is a demonstration model, not a diagnostic one.",
            "created_by": users["coordinator"],
            "status": Study.Status.OPEN,
            "seed": 20261127,
        },
    )
    Arm.objects.get_or_create(study=study, kind=Arm.Kind.UNAIDED, defaults={"position": 0})
    Arm.objects.get_or_create(study=study, kind=Arm.Kind.AI_AIDED, defaults={"position": 1})
    write(f"{'Created' if created else 'Found'} the demo study {study.name!r}.")
    return study
