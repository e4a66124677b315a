"""Every URL pattern of the project, for every kind of user, answers with the status in MATRIX.

The patterns are enumerated from the resolver, so a new URL without a row here fails
`test_every_url_pattern_has_a_row`. Each row is requested as anonymous, reader A (who owns the
objects of the world), reader B (another reader of the same study, with a reading set of their
own), a statistician and a coordinator. POST rows send an empty body: a role that may act gets
past the permission check to validation (400) or acts; one that may not is stopped first.
"""
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.test import Client, override_settings
from rest_framework.settings import api_settings

from tests.api.matrix_world import build_world, path_of, url_patterns

ROLES = ("anonymous", "reader_a", "reader_b", "statistician", "coordinator")
P = 302  # a page: anonymous users are sent to the login page
# An anonymous API request: 401 when the first authentication class can challenge (token), else 403.
A = 401 if api_settings.DEFAULT_AUTHENTICATION_CLASSES[0]().authenticate_header(None) else 403

# name                               method   anonymous  reader A  reader B  statistician  coordinator
MATRIX = [
    ("home",                           "GET",    P,   200, 200, 200, 200),
    ("login",                          "GET",    200, 200, 200, 200, 200),
    ("login",                          "POST",   200, 200, 200, 200, 200),  # form errors: no credentials
    ("logout",                         "GET",    P,   405, 405, 405, 405),
    ("logout",                         "POST",   P,   302, 302, 302, 302),
    ("admin:*",                        "GET",    P,   302, 302, 302, 302),  # nobody here is staff
    ("admin:login",                    "GET",    200, 200, 200, 200, 200),
    # exams (ingest helper): coordinators import; pixels for those who may see the exam
    ("exams:upload",                   "GET",    P,   403, 403, 403, 200),
    ("exams:upload",                   "POST",   P,   403, 403, 403, 400),
    ("exams:truth-upload",             "GET",    P,   403, 403, 403, 200),
    ("exams:truth-upload",             "POST",   P,   403, 403, 403, 400),
    ("exams:image-pixels",             "GET",    P,   200, 403, 200, 200),
    ("exams:image-header",             "GET",    P,   200, 403, 200, 200),
    ("exams:image-preview",            "GET",    P,   200, 403, 200, 200),
    # reading (viewer helper): readers, their own assignments only
    ("reader:worklist",                "GET",    P,   200, 200, 403, 403),
    ("reader:continue",                "GET",    P,   302, 404, 403, 403),
    ("reader:viewer",                  "GET",    P,   200, 404, 403, 403),
    ("reader:api-context",             "GET",    P,   200, 404, 403, 403),
    ("reader:api-draft",               "GET",    P,   200, 404, 403, 403),
    ("reader:api-draft",               "PUT",    P,   409, 404, 403, 403),  # A's exam is submitted: locked
    ("reader:api-submit",              "GET",    P,   405, 405, 405, 405),
    ("reader:api-submit",              "POST",   P,   400, 404, 403, 403),
    # model registry and runs (model-runs helper): coordinators; the overlay only in an open AI-aided arm
    ("predictions:registry",           "GET",    P,   403, 403, 403, 200),
    ("predictions:registry",           "POST",   P,   403, 403, 403, 200),  # form errors
    ("predictions:start-run",          "GET",    P,   403, 403, 403, 200),
    ("predictions:start-run",          "POST",   P,   403, 403, 403, 200),
    ("predictions:run",                "GET",    P,   403, 403, 403, 200),
    ("predictions:run-progress",       "GET",    P,   403, 403, 403, 200),
    ("predictions:run-cancel",         "POST",   P,   403, 403, 403, 302),
    ("predictions:run-resume",         "POST",   P,   403, 403, 403, 302),
    ("predictions:overlay",            "GET",    P,   404, 404, 403, 403),  # A's unaided arm shows no model
    ("predictions:overlay-heatmap",    "GET",    P,   404, 404, 403, 403),
    # analysis (lead): statisticians; coordinators once the study is closed
    ("analysis:index",                 "GET",    P,   403, 403, 200, 200),
    ("analysis:study",                 "GET",    P,   403, 403, 200, 403),
    ("analysis:ratings-export",        "GET",    P,   403, 403, 200, 403),
    ("analysis:report-file",           "GET",    P,   403, 403, 404, 403),  # no such report yet
    # coordinator pages
    ("studies:list",                   "GET",    P,   403, 403, 403, 200),
    ("studies:create",                 "GET",    P,   403, 403, 403, 200),
    ("studies:create",                 "POST",   P,   403, 403, 403, 200),  # form errors
    ("studies:detail",                 "GET",    P,   403, 403, 403, 200),
    ("studies:edit",                   "GET",    P,   403, 403, 403, 200),
    ("studies:edit",                   "POST",   P,   403, 403, 403, 200),
    ("studies:set-status",             "GET",    P,   405, 405, 405, 405),
    ("studies:set-status",             "POST",   P,   403, 403, 403, 302),
    ("studies:arm-edit",               "GET",    P,   403, 403, 403, 200),
    ("studies:arm-edit",               "POST",   P,   403, 403, 403, 200),
    ("studies:answers",                "GET",    P,   403, 403, 403, 200),  # aggregates only while open
    ("studies:readings-csv",           "GET",    P,   403, 403, 200, 403),  # coordinators: once closed
    ("studies:reading-set-create",     "GET",    P,   403, 403, 403, 200),
    ("studies:reading-set-create",     "POST",   P,   403, 403, 403, 200),
    ("studies:reading-set-sample",     "GET",    P,   403, 403, 403, 200),
    ("studies:reading-set-sample",     "POST",   P,   403, 403, 403, 200),
    ("studies:reading-set-detail",     "GET",    P,   403, 403, 403, 200),
    ("studies:assign",                 "GET",    P,   403, 403, 403, 200),
    ("studies:assign",                 "POST",   P,   403, 403, 403, 200),
    ("studies:progress",               "GET",    P,   403, 403, 403, 200),
    ("studies:progress-csv",           "GET",    P,   403, 403, 403, 200),
    ("studies:readers",                "GET",    P,   403, 403, 403, 200),
    ("studies:readers",                "POST",   P,   403, 403, 403, 200),
    ("studies:reader-invite",          "GET",    P,   405, 405, 405, 405),
    ("studies:reader-invite",          "POST",   P,   403, 403, 403, 302),  # refused: A has a password
    ("studies:set-password",           "GET",    200, 200, 200, 200, 200),  # public; this link is invalid
    ("studies:audit",                  "GET",    P,   403, 403, 403, 200),
    ("studies:audit-csv",              "GET",    P,   403, 403, 403, 200),
    # API
    ("api-schema",                     "GET",    A,   200, 200, 200, 200),
    ("api-docs",                       "GET",    A,   200, 200, 200, 200),
    ("api-token",                      "GET",    405, 405, 405, 405, 405),
    ("api-token",                      "POST",   400, 400, 400, 400, 400),  # no credentials given
    ("api-study-list",                 "GET",    A,   200, 200, 200, 200),  # readers: their studies
    ("api-study-list",                 "POST",   A,   403, 403, 403, 400),
    ("api-study-detail",               "GET",    A,   200, 200, 200, 200),
    ("api-study-detail",               "PATCH",  A,   403, 403, 403, 200),
    ("api-study-answers-summary",      "GET",    A,   403, 403, 200, 200),
    ("api-study-close",                "POST",   A,   403, 403, 403, 200),
    ("api-study-open",                 "POST",   A,   403, 403, 403, 409),  # already open
    ("api-study-progress",             "GET",    A,   403, 403, 403, 200),
    ("api-study-progress-csv",         "GET",    A,   403, 403, 403, 200),
    ("api-arm-list",                   "GET",    A,   200, 200, 200, 200),
    ("api-arm-detail",                 "GET",    A,   200, 200, 200, 200),
    ("api-arm-detail",                 "PATCH",  A,   403, 403, 403, 200),  # an empty change changes nothing
    ("api-reading-set-list",           "GET",    A,   403, 403, 200, 200),  # selection holds truth counts
    ("api-reading-set-detail",         "GET",    A,   403, 403, 200, 200),
    ("api-reading-set-sample",         "POST",   A,   403, 403, 403, 400),
    ("api-reading-set-exams",          "POST",   A,   403, 403, 403, 400),
    ("api-assignment-list",            "GET",    A,   200, 200, 200, 200),  # readers: their own
    ("api-assignment-list",            "POST",   A,   403, 403, 403, 400),
    ("api-assignment-detail",          "GET",    A,   200, 404, 200, 200),
    ("api-reading-list",               "GET",    A,   200, 200, 200, 200),  # filtered by blinding
    ("api-reading-list",               "POST",   A,   400, 400, 403, 403),
    ("api-reading-open",               "POST",   A,   400, 400, 403, 403),
    ("api-reading-detail",             "GET",    A,   200, 404, 200, 403),  # blinded until closed
    ("api-reading-detail",             "PUT",    A,   405, 405, 405, 405),  # never edited in place
    ("api-reading-amend",              "POST",   A,   400, 404, 403, 403),
    ("api-reading-revisions",          "GET",    A,   200, 404, 200, 403),
    ("api-audit-event-list",           "GET",    A,   403, 403, 403, 200),
    ("api-audit-event-csv",            "GET",    A,   403, 403, 403, 200),
    ("api-audit-event-detail",         "GET",    A,   403, 403, 403, 200),
    ("api-audit-event-detail",         "DELETE", A,   403, 403, 403, 405),  # append-only
    ("api-reader-list",                "GET",    A,   403, 403, 403, 200),
    ("api-reader-list",                "POST",   A,   403, 403, 403, 400),
    ("api-reader-detail",              "GET",    A,   403, 403, 403, 200),
    ("api-reader-invite",              "POST",   A,   403, 403, 403, 409),  # A has a password already
    ("api-exam-upload",                "GET",    A,   403, 403, 403, 405),
    ("api-model-version-list",         "GET",    A,   403, 403, 200, 200),
    ("api-model-version-list",         "POST",   A,   403, 403, 403, 400),
    ("api-model-version-detail",       "GET",    A,   403, 403, 200, 200),
    ("api-model-run-list",             "GET",    A,   403, 403, 200, 200),
    ("api-model-run-list",             "POST",   A,   403, 403, 403, 400),
    ("api-model-run-detail",           "GET",    A,   403, 403, 200, 200),
    ("api-model-run-cancel",           "POST",   A,   403, 403, 403, 409),  # the run is done
    ("api-model-run-predictions",      "GET",    A,   403, 403, 200, 200),
    ("api-model-run-progress",         "GET",    A,   403, 403, 200, 200),
    ("api-study-analysis",             "GET",    A,   403, 403, 200, 403),
    ("api-study-ratings",              "GET",    A,   403, 403, 200, 403),
    ("api-exam-upload",                "POST",   A,   403, 403, 403, 400),
]

ROWS = {(name, method): dict(zip(ROLES, statuses)) for name, method, *statuses in MATRIX}


def matrix_key(name: str, route: str) -> str:
    """The row of a pattern: its own, else the admin wildcard for the admin's generated URLs."""
    if any(key == name for key, _ in ROWS):
        return name
    return "admin:*" if name.startswith("admin:") or route.startswith("admin/") else name


def cases():
    """(pattern name, route, keys, method, expected) for each row, admin rows for every admin pattern."""
    patterns = list(url_patterns())
    for name, route, keys in patterns:
        for (key, method), expected in ROWS.items():
            if key == matrix_key(name, route):
                yield pytest.param(name, route, keys, method, expected, id=f"{method} {name}")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module inside a transaction that is rolled back at the end; each test
    runs in a savepoint of its own, each role in a savepoint inside that."""
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"), PASSWORD_HASHERS=fast):
        with transaction.atomic():
            people = {}
            for role in ROLES[1:]:
                user = User.objects.create_user(role, password=f"pw-{role}")
                user.groups.add(Group.objects.get(name=role.removesuffix("_a").removesuffix("_b")))
                people[role] = user
            world = build_world(people, people["coordinator"])
            world.sessions = {}
            for role, user in people.items():  # log in once; each request reuses the session cookie
                client = Client()
                client.force_login(user)
                world.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield world
            transaction.set_rollback(True)


def test_every_url_pattern_has_a_row():
    covered = {key for key, _ in ROWS}
    missing = sorted({matrix_key(name, route) for name, route, _ in url_patterns()} - covered)
    assert not missing, f"URL patterns without a row in the permission matrix: {missing}"
    stale = sorted(covered - {matrix_key(name, route) for name, route, _ in url_patterns()})
    assert not stale, f"rows for URL patterns that no longer exist: {stale}"


@pytest.mark.django_db
@pytest.mark.parametrize("name, route, keys, method, expected", list(cases()))
def test_permission_matrix(world, name, route, keys, method, expected):
    path = path_of(world, name, route, keys)
    observed = {}
    for role in ROLES:
        client = Client()
        if role != "anonymous":
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
        with transaction.atomic():  # a logout or a change by one role is undone before the next
            response = client.generic(method, path, b"", content_type="application/json")
            observed[role] = response.status_code
            transaction.set_rollback(True)
    assert observed == expected, f"{method} {path}"
