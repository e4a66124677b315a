"""The objects every URL of the permission matrix is exercised against, and the concrete path of a pattern."""
import re
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from readerstudy.audit.models import AuditEvent
from readerstudy.exams.models import Image
from readerstudy.predictions.models import ModelRun, ModelVersion
from readerstudy.studies import assignments, lifecycle, reading_sets, submission
from tests.studies.factories import answers, make_exams

ADMIN_DEFAULTS = {"app_label": "studies", "object_id": "1", "content_type_id": "1", "url": "no-such-page/"}


@dataclass
class World:
    users: dict
    study: object
    arm: object
    reading_set: object
    assignment: object  # reader A's unaided assignment
    exam_id: int  # the first exam of reading set A, submitted by reader A
    reading: object  # reader A's submitted reading
    image: object
    event: object
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


def build_world(people: dict, coordinator) -> World:
    study = lifecycle.create_study(coordinator, name="Matrix", allow_amendments=True, seed=5)
    set_a = reading_sets.create_reading_set(study, coordinator, name="A", exam_ids=[e.pk for e in make_exams(3, prefix="A")])
    set_b = reading_sets.create_reading_set(study, coordinator, name="B", exam_ids=[e.pk for e in make_exams(3, prefix="B")])
    arms = list(study.arms.all())
    assignments.assign_many(set_a, arms, [people["reader_a"]], coordinator)
    assignments.assign_many(set_b, arms, [people["reader_b"]], coordinator)
    lifecycle.open_study(study, coordinator)
    assignment = people["reader_a"].assignments.get(arm__kind="unaided")
    exam_id = set_a.exam_ids()[0]  # a fixed exam, whatever A's order: what analysis sees stays the same
    reading, _ = submission.submit(assignment, exam_id, answers(), client_key="matrix")
    image = Image(exam_id=exam_id, view="L-CC", sop_instance_uid="1.2.3.4", rows=2, columns=2, bits_stored=12, checksum="crc32:00000000")
    image.pixels_file.save("m.planes.gz", ContentFile(b"\x1f\x8b"), save=False)
    image.preview_file.save("m.png", ContentFile(b"\x89PNG"), save=False)
    image.save()
    version = ModelVersion.objects.create(name="matrix model", variant=ModelVersion.Variant.IMAGE_ONLY, weights_file="/nowhere.pt", sha256="0" * 64)
    run = ModelRun.objects.create(model_version=version, study=study, reading_set=set_a, status=ModelRun.Status.DONE)
    return World(people, study, arms[0], set_a, assignment, exam_id, reading, image, AuditEvent.objects.first(), version, run)


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
