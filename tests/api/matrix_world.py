"""The objects every URL of the permission matrix is exercised against, and the concrete path of a pattern.

Two studies: "Matrix" (A) with its coordinator, statistician and readers A and B, and "Other" (B),
coordinated by another study creator and read by reader C. The matrix requests A's objects as each
of A's members, an anonymous visitor and B's coordinator; a second test requests B's objects as
A's members.
"""
import re
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from readerstudy.audit.models import AuditEvent
from readerstudy.exams.models import Image
from readerstudy.studies import assignments, lifecycle, reading_sets, submission
from readerstudy.studies.models import Arm
from tests.studies.factories import add_members, answers, attach_run, make_exams

ADMIN_DEFAULTS = {"app_label": "studies", "object_id": "1", "content_type_id": "1", "url": "no-such-page/"}


@dataclass
class World:
    users: dict
    study: object
    arm: object  # the AI-aided arm
    reading_set: object
    assignment: object  # reader A's first-session (unaided) assignment
    exam_id: int  # the first exam of reading set A, submitted by reader A
    reading: object  # reader A's submitted reading
    image: object
    event: object  # the study's "study.opened" audit event
    model_version: object
    model_run: object
    sessions: dict = field(default_factory=dict)  # role -> session key, filled by the matrix test

    def pk_objects(self) -> dict:
        """Which object a route's `pk` means, by the route's name prefix."""
        return {
            "api-study": self.study, "api-arm": self.arm, "api-reading-set": self.reading_set,
            "api-assignment": self.assignment, "api-reading": self.reading, "api-audit-event": self.event,
            "api-reader": self.users["reader_a"], "exams:image-": self.image, "analysis:": self.study,
            "api-model-version": self.model_version, "api-model-run": self.model_run,
        }

    def kwargs_for(self, name: str, keys) -> dict:
        values = {
            "study_id": self.study.pk, "arm_id": self.arm.pk, "set_id": self.reading_set.pk,
            "user_id": self.users["reader_a"].pk, "assignment_id": self.assignment.pk, "exam_id": self.exam_id,
            "uidb64": "MQ", "token": "no-such-token", "run_id": self.model_run.pk, "view": "L-CC", "kind": "malignant",
            "key": "no-such-report", "name": "roc.png",
        }
        if "pk" in keys:
            prefix = max((p for p in self.pk_objects() if name.startswith(p)), key=len, default=None)
            assert prefix is not None, f"the permission matrix does not know what 'pk' means in {name}"
            values["pk"] = self.pk_objects()[prefix].pk
        return {key: values.get(key, ADMIN_DEFAULTS.get(key)) for key in keys}


def build_world(readers: list, coordinator, *, name="Matrix", statisticians=(), prefix="A") -> World:
    """A study with two reading sets, the first reader assigned to the first set and the second
    (if any) to the second, a completed run on the AI-aided arm, opened, and one submitted reading."""
    study = lifecycle.create_study(coordinator, name=name, allow_amendments=True, seed=5, sequence_design="unaided_first")
    sets = [reading_sets.create_reading_set(study, coordinator, name=f"{prefix}{n}", exam_ids=[e.pk for e in make_exams(3, prefix=f"{prefix}{n}")])
            for n in range(2)]
    add_members(study, coordinator, readers=readers, statisticians=statisticians)
    for reader, reading_set in zip(readers, sets, strict=False):
        assignments.assign(reading_set, reader, coordinator)
    run = attach_run(study, coordinator)
    lifecycle.open_study(study, coordinator)
    assignment = readers[0].assignments.get(arm__study=study, session=1)
    exam_id = sets[0].exam_ids()[0]  # a fixed exam, whatever the reader's order
    reading, _ = submission.submit(assignment, exam_id, answers(), client_key=f"matrix-{prefix}")
    image = Image(exam_id=exam_id, view="L-CC", sop_instance_uid=f"1.2.3.4.{prefix}", rows=2, columns=2, bits_stored=12, checksum="crc32:00000000")
    image.pixels_file.save(f"{prefix}.planes.gz", ContentFile(b"\x1f\x8b"), save=False)
    image.preview_file.save(f"{prefix}.png", ContentFile(b"\x89PNG"), save=False)
    image.save()
    event = AuditEvent.objects.get(action="study.opened", study_id=study.pk)
    users = {"reader_a": readers[0], "coordinator": coordinator}
    return World(users, study, study.arms.get(kind=Arm.Kind.AI_AIDED), sets[0], assignment, exam_id, reading, image, event,
                 run.model_version, run)


def url_patterns(resolver=None, prefix="", namespace=""):
    """(name, route, keys) for every pattern of the project; unnamed patterns are named by their route."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry, route, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else route
            yield name, route, tuple(entry.pattern.regex.groupindex)


UNNAMED_PATHS = {"admin/(?P<url>.*)$": "/admin/no-such-page/"}


def path_of(world: World, name: str, route: str, keys) -> str:
    if name != route:
        return reverse(name, kwargs=world.kwargs_for(name, keys))
    if route in UNNAMED_PATHS:
        return UNNAMED_PATHS[route]
    # An unnamed route without regular expressions: fill its <converter:name> parts.
    assert "(?" not in route and "^" not in route, f"no concrete path for the unnamed pattern {route!r}"
    values = world.kwargs_for(name, keys)
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
