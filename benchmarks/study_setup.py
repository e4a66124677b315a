"""An open study for the web benchmarks (load.py, viewer.py), built through the services.

Opening a study needs a completed model run on its AI-aided arm; the benchmarks time reading, not
the model, so the run here has constant predictions (0.5) and says so in its model's name.
"""


def open_study(coordinator, *, name: str, exam_ids: list[int], seed: int):
    """A fixed-sequence study (every reader reads unaided first), one reading set, opened."""
    from django.contrib.auth.models import Group

    from readerstudy.accounts.roles import STUDY_CREATORS
    from readerstudy.predictions.models import ModelRun, ModelVersion, Prediction
    from readerstudy.studies import lifecycle, reading_sets

    coordinator.groups.add(Group.objects.get_or_create(name=STUDY_CREATORS)[0])
    study = lifecycle.create_study(coordinator, name=name, seed=seed, sequence_design="unaided_first")
    reading_sets.create_reading_set(study, coordinator, name="All", exam_ids=exam_ids)
    version, _ = ModelVersion.objects.get_or_create(
        name="constant benchmark model (0.5 everywhere)",
        defaults={"variant": ModelVersion.Variant.IMAGE_ONLY, "weights_file": "-", "sha256": "0" * 64, "demonstration": True})
    run = ModelRun.objects.create(model_version=version, status=ModelRun.Status.DONE, created_by=coordinator,
                                  options={"heatmaps": False}, description=f"{name} (constant)")
    Prediction.objects.bulk_create(Prediction(run=run, exam_id=exam_id, left_benign=0.5, right_benign=0.5,
                                              left_malignant=0.5, right_malignant=0.5) for exam_id in exam_ids)
    lifecycle.configure_arm(study.arms.get(kind="ai_aided"), coordinator, model_run=run)
    lifecycle.open_study(study, coordinator)
    return study


def first_session(study, reader, coordinator):
    """Make `reader` a reader of the study and return their first-session (unaided) assignment."""
    from readerstudy.studies import assignments, memberships

    memberships.add_member(study, reader, "reader", coordinator)
    return next(a for a in assignments.assign(study.reading_sets.get(), reader, coordinator) if a.session == 1)
