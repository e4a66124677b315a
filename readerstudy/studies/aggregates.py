"""Answers in aggregate: what a coordinator may see of a study that is still blinded.

An average over one or two readings would show those readings, so while answers are blinded
an arm's mean and BI-RADS counts appear only from MIN_READINGS submitted readings on.
"""
from django.db.models import Avg, Count

from readerstudy.studies.models import Reading

MIN_READINGS = 5


def answers_by_arm(study, *, unblinded: bool) -> list[dict]:
    """Per arm: submitted readings, mean probability of malignancy over both breasts, BI-RADS counts per breast."""
    submitted = Reading.objects.filter(assignment__arm__study=study, status=Reading.Status.SUBMITTED)
    arms = []
    for arm in study.arms.all():
        readings = submitted.filter(assignment__arm=arm)
        stats = readings.aggregate(n=Count("pk"), left=Avg("left_probability"), right=Avg("right_probability"))
        row = {"arm": arm.kind, "arm_label": arm.get_kind_display(), "submitted": stats["n"], "mean_probability": None, "birads_counts": None}
        if stats["n"] and (unblinded or stats["n"] >= MIN_READINGS):
            birads = {str(category): 0 for category in range(7)}
            for side in ("left_birads", "right_birads"):
                for group in readings.values(side).annotate(n=Count("pk")):
                    birads[str(group[side])] += group["n"]
            row.update(mean_probability=round((stats["left"] + stats["right"]) / 2, 2), birads_counts=birads)
        arms.append(row)
    return arms
