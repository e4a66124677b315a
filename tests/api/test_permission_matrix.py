"""Every URL pattern of the project, for every kind of user, answers with the status in MATRIX.

The patterns are enumerated from the resolver, so a new URL without a row here fails
`test_every_url_pattern_has_a_row`. Each row is requested on the objects of study A as anonymous,
reader A (who owns the objects: assignment, reading), reader B (another reader of study A, with a
reading set of their own), A's statistician, A's coordinator, and the coordinator of another study
(B; a study creator too). `test_objects_of_another_study` then requests every object route on
study B's objects as A's members: nothing of another study is reachable. POST rows send an empty
body: a user who may act gets past the permission check to validation (400) or acts; one who may
not is stopped first. Every decision comes from readerstudy/access/policy.py.
"""
import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings
from rest_framework.settings import api_settings

from tests.api.matrix_world import build_world, path_of, url_patterns
from tests.studies.factories import make_account

ROLES = ("anonymous", "reader_a", "reader_b", "statistician", "coordinator", "other_coordinator")
P = 302  # a page: anonymous users are sent to the login page
# An anonymous API request: 401 when the first authentication class can challenge (token), else 403.
A = 401 if api_settings.DEFAULT_AUTHENTICATION_CLASSES[0]().authenticate_header(None) else 403

# name                               method   anonymous  reader A  reader B  statist.  coord.  other study's coord.
MATRIX = [
    ("home",                           "GET",    P,   200, 200, 200, 200, 200),
    ("login",                          "GET",    200, 200, 200, 200, 200, 200),
    ("login",                          "POST",   200, 200, 200, 200, 200, 200),  # form errors: no credentials
    ("logout",                         "GET",    P,   405, 405, 405, 405, 405),
    ("logout",                         "POST",   P,   302, 302, 302, 302, 302),
    ("admin:*",                        "GET",    P,   302, 302, 302, 302, 302),  # nobody here is staff
    ("admin:login",                    "GET",    200, 200, 200, 200, 200, 200),
    # exams: study creators import; pixels for those the policy lets see the exam
    ("exams:upload",                   "GET",    P,   403, 403, 403, 200, 200),
    ("exams:upload",                   "POST",   P,   403, 403, 403, 400, 400),
    ("exams:truth-upload",             "GET",    P,   403, 403, 403, 200, 200),
    ("exams:truth-upload",             "POST",   P,   403, 403, 403, 400, 400),
    ("exams:image-pixels",             "GET",    P,   200, 403, 200, 200, 403),
    ("exams:image-header",             "GET",    P,   200, 403, 200, 200, 403),
    ("exams:image-preview",            "GET",    P,   200, 403, 200, 200, 403),
    # reading: a reader's own assignments only; anyone else's is as if it did not exist
    ("reader:worklist",                "GET",    P,   200, 200, 403, 403, 403),
    ("reader:continue",                "GET",    P,   302, 404, 404, 404, 404),
    ("reader:viewer",                  "GET",    P,   200, 404, 404, 404, 404),
    ("reader:overlay",                 "GET",    P,   404, 404, 404, 404, 404),  # A's first session is unaided
    ("reader:overlay-heatmap",         "GET",    P,   404, 404, 404, 404, 404),
    ("api-viewer-context",             "GET",    A,   200, 404, 404, 404, 404),
    ("api-viewer-draft",               "GET",    A,   200, 404, 404, 404, 404),
    ("api-viewer-draft",               "PUT",    A,   409, 404, 404, 404, 404),  # A's exam is submitted: locked
    ("api-viewer-submit",              "GET",    A,   405, 405, 405, 405, 405),
    ("api-viewer-submit",              "POST",   A,   400, 404, 404, 404, 404),
    # models and runs: study creators register; a run is seen by the members of a study that shows it
    ("predictions:registry",           "GET",    P,   403, 403, 200, 200, 200),
    ("predictions:registry",           "POST",   P,   403, 403, 403, 200, 200),  # form errors
    ("predictions:run",                "GET",    P,   403, 403, 200, 200, 403),
    ("predictions:run-progress",       "GET",    P,   403, 403, 200, 200, 403),
    ("predictions:run-cancel",         "POST",   P,   403, 403, 403, 302, 403),
    ("predictions:run-resume",         "POST",   P,   403, 403, 403, 302, 403),
    # analysis: the study's coordinator and statistician, once unblinded (A is open and blinded)
    ("analysis:index",                 "GET",    P,   403, 403, 200, 200, 200),
    ("analysis:study",                 "GET",    P,   403, 403, 403, 403, 403),
    ("analysis:ratings-export",        "GET",    P,   403, 403, 403, 403, 403),
    ("analysis:report-file",           "GET",    P,   403, 403, 403, 403, 403),
    # study pages: the study's coordinator
    ("studies:list",                   "GET",    P,   200, 200, 200, 200, 200),  # each sees their own studies
    ("studies:create",                 "GET",    P,   403, 403, 403, 200, 200),
    ("studies:create",                 "POST",   P,   403, 403, 403, 200, 200),  # form errors
    ("studies:detail",                 "GET",    P,   403, 403, 403, 200, 403),
    ("studies:edit",                   "GET",    P,   403, 403, 403, 200, 403),
    ("studies:edit",                   "POST",   P,   403, 403, 403, 200, 403),
    ("studies:set-status",             "GET",    P,   405, 405, 405, 405, 405),
    ("studies:set-status",             "POST",   P,   403, 403, 403, 302, 403),
    ("studies:unblind",                "GET",    P,   405, 405, 405, 405, 405),
    ("studies:unblind",                "POST",   P,   403, 403, 403, 302, 403),  # no reason given: refused with a message
    ("studies:member-add",             "GET",    P,   405, 405, 405, 405, 405),
    ("studies:member-add",             "POST",   P,   403, 403, 403, 302, 403),
    ("studies:arm-edit",               "GET",    P,   403, 403, 403, 200, 403),
    ("studies:arm-edit",               "POST",   P,   403, 403, 403, 200, 403),
    ("studies:start-run",              "GET",    P,   403, 403, 403, 200, 403),
    ("studies:start-run",              "POST",   P,   403, 403, 403, 200, 403),
    ("studies:readings-csv",           "GET",    P,   403, 403, 403, 403, 403),  # blinded
    ("studies:reading-set-create",     "GET",    P,   403, 403, 403, 200, 403),
    ("studies:reading-set-create",     "POST",   P,   403, 403, 403, 200, 403),
    ("studies:reading-set-sample",     "GET",    P,   403, 403, 403, 200, 403),
    ("studies:reading-set-sample",     "POST",   P,   403, 403, 403, 200, 403),
    ("studies:reading-set-detail",     "GET",    P,   403, 403, 403, 200, 403),
    ("studies:assign",                 "GET",    P,   403, 403, 403, 200, 403),
    ("studies:assign",                 "POST",   P,   403, 403, 403, 200, 403),
    ("studies:progress",               "GET",    P,   403, 403, 403, 200, 403),
    ("studies:progress-csv",           "GET",    P,   403, 403, 403, 200, 403),
    ("studies:readers",                "GET",    P,   403, 403, 403, 200, 200),  # accounts: study creators
    ("studies:readers",                "POST",   P,   403, 403, 403, 200, 200),
    ("studies:reader-invite",          "GET",    P,   405, 405, 405, 405, 405),
    ("studies:reader-invite",          "POST",   P,   403, 403, 403, 302, 302),  # refused: A has a password
    ("studies:set-password",           "GET",    200, 200, 200, 200, 200, 200),  # public; this link is invalid
    ("studies:audit",                  "GET",    P,   403, 403, 403, 200, 200),  # each coordinator: their studies' events
    ("studies:audit-csv",              "GET",    P,   403, 403, 403, 200, 200),
    # API
    ("api-schema",                     "GET",    A,   200, 200, 200, 200, 200),
    ("api-docs",                       "GET",    A,   200, 200, 200, 200, 200),
    ("api-token",                      "GET",    405, 405, 405, 405, 405, 405),
    ("api-token",                      "POST",   400, 400, 400, 400, 400, 400),  # no credentials given
    ("api-study-list",                 "GET",    A,   200, 200, 200, 200, 200),  # each sees their own studies
    ("api-study-list",                 "POST",   A,   403, 403, 403, 400, 400),
    ("api-study-detail",               "GET",    A,   200, 200, 200, 200, 404),
    ("api-study-detail",               "PATCH",  A,   403, 403, 403, 200, 404),  # an empty change changes nothing
    ("api-study-close",                "POST",   A,   403, 403, 403, 200, 404),
    ("api-study-open",                 "POST",   A,   403, 403, 403, 409, 404),  # already open
    ("api-study-unblind",              "POST",   A,   403, 403, 403, 400, 404),  # no reason given
    ("api-study-members",              "POST",   A,   403, 403, 403, 400, 404),
    ("api-study-progress",             "GET",    A,   403, 403, 403, 200, 404),
    ("api-study-progress-csv",         "GET",    A,   403, 403, 403, 200, 404),
    ("api-arm-list",                   "GET",    A,   200, 200, 200, 200, 200),  # the arms of one's studies
    ("api-arm-detail",                 "GET",    A,   200, 200, 200, 200, 404),
    ("api-arm-detail",                 "PATCH",  A,   403, 403, 403, 400, 404),  # a run is required
    ("api-reading-set-list",           "GET",    A,   200, 200, 200, 200, 200),  # readers: none (truth strata)
    ("api-reading-set-list",           "POST",   A,   400, 400, 400, 400, 400),  # then the study's coordinator only
    ("api-reading-set-detail",         "GET",    A,   404, 404, 200, 200, 404),
    ("api-reading-set-sample",         "POST",   A,   400, 400, 400, 400, 400),
    ("api-reading-set-exams",          "POST",   A,   404, 404, 403, 400, 404),
    ("api-assignment-list",            "GET",    A,   200, 200, 200, 200, 200),  # readers: their own
    ("api-assignment-list",            "POST",   A,   400, 400, 400, 400, 400),  # then the study's coordinator only
    ("api-assignment-detail",          "GET",    A,   200, 404, 200, 200, 404),
    ("api-reading-list",               "GET",    A,   200, 200, 200, 200, 200),  # what the policy lets each see
    ("api-reading-list",               "POST",   A,   400, 400, 400, 400, 400),  # then the assignment's reader only
    ("api-reading-open",               "POST",   A,   400, 400, 400, 400, 400),
    ("api-reading-detail",             "GET",    A,   200, 404, 404, 404, 404),  # blinded while open
    ("api-reading-detail",             "PUT",    A,   405, 405, 405, 405, 405),  # never edited in place
    ("api-reading-amend",              "POST",   A,   400, 404, 404, 404, 404),
    ("api-reading-revisions",          "GET",    A,   200, 404, 404, 404, 404),
    ("api-audit-event-list",           "GET",    A,   403, 403, 403, 200, 200),
    ("api-audit-event-csv",            "GET",    A,   403, 403, 403, 200, 200),
    ("api-audit-event-detail",         "GET",    A,   403, 403, 403, 200, 404),
    ("api-audit-event-detail",         "DELETE", A,   403, 403, 403, 405, 405),  # append-only
    ("api-reader-list",                "GET",    A,   403, 403, 403, 200, 200),
    ("api-reader-list",                "POST",   A,   403, 403, 403, 400, 400),
    ("api-reader-detail",              "GET",    A,   403, 403, 403, 200, 200),
    ("api-reader-invite",              "POST",   A,   403, 403, 403, 409, 409),  # A has a password already
    ("api-exam-upload",                "GET",    A,   403, 403, 403, 405, 405),
    ("api-exam-upload",                "POST",   A,   403, 403, 403, 400, 400),
    ("api-model-version-list",         "GET",    A,   403, 403, 200, 200, 200),
    ("api-model-version-list",         "POST",   A,   403, 403, 403, 400, 400),
    ("api-model-version-detail",       "GET",    A,   403, 403, 200, 200, 200),
    ("api-model-run-list",             "GET",    A,   403, 403, 200, 200, 200),
    ("api-model-run-list",             "POST",   A,   403, 403, 403, 400, 400),
    ("api-model-run-detail",           "GET",    A,   403, 403, 200, 200, 404),
    ("api-model-run-cancel",           "POST",   A,   403, 403, 403, 409, 404),  # the run is done
    ("api-model-run-predictions",      "GET",    A,   403, 403, 200, 200, 404),
    ("api-model-run-progress",         "GET",    A,   403, 403, 200, 200, 404),
    ("api-study-analysis",             "GET",    A,   403, 403, 403, 403, 403),  # blinded
    ("api-study-ratings",              "GET",    A,   403, 403, 403, 403, 403),
]

ROWS = {(name, method): dict(zip(ROLES, statuses, strict=False)) for name, method, *statuses in MATRIX}


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
def worlds(django_db_setup, django_db_blocker, tmp_path_factory):
    """Studies A and B, built once for the module inside a transaction that is rolled back at the
    end; each test runs in a savepoint of its own, each role in a savepoint inside that."""
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"), PASSWORD_HASHERS=fast):
        with transaction.atomic():
            people = {role: make_account(role, *(("coordinator",) if role.endswith("coordinator") else ())) for role in ROLES[1:]}
            for user in people.values():
                user.set_password(f"pw-{user.username}")
                user.save()
            own = build_world([people["reader_a"], people["reader_b"]], people["coordinator"], statisticians=[people["statistician"]])
            other = build_world([make_account("reader_c")], people["other_coordinator"], name="Other", prefix="B")
            sessions = {}
            for role, user in people.items():  # log in once; each request reuses the session cookie
                client = Client()
                client.force_login(user)
                sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            own.sessions = other.sessions = sessions
            yield own, other
            transaction.set_rollback(True)


@pytest.fixture
def world(worlds):
    return worlds[0]


def test_every_url_pattern_has_a_row():
    covered = {key for key, _ in ROWS}
    missing = sorted({matrix_key(name, route) for name, route, _ in url_patterns()} - covered)
    assert not missing, f"URL patterns without a row in the permission matrix: {missing}"
    stale = sorted(covered - {matrix_key(name, route) for name, route, _ in url_patterns()})
    assert not stale, f"rows for URL patterns that no longer exist: {stale}"


def request_as(world, roles, method, path) -> dict:
    observed = {}
    for role in roles:
        client = Client()
        if role != "anonymous":
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
        with transaction.atomic():  # a logout or a change by one role is undone before the next
            response = client.generic(method, path, b"", content_type="application/json")
            observed[role] = response.status_code
            transaction.set_rollback(True)
    return observed


@pytest.mark.django_db
@pytest.mark.parametrize("name, route, keys, method, expected", list(cases()))
def test_permission_matrix(world, name, route, keys, method, expected):
    path = path_of(world, name, route, keys)
    assert request_as(world, ROLES, method, path) == expected, f"{method} {path}"


# Objects that belong to no study: accounts and model versions (site level), the set-password page.
SITE_LEVEL = ("api-reader-", "studies:reader-invite", "api-model-version-", "studies:set-password", "admin:", "admin/")


@pytest.mark.django_db
@pytest.mark.parametrize("name, route, keys, method, expected", [
    case for case in cases() if case.values[2] and not case.values[0].startswith(SITE_LEVEL)])
def test_objects_of_another_study(worlds, name, route, keys, method, expected):
    """Study A's members reach nothing of study B: every object route answers them 403, 404 or 405
    (or, for pages, sends them nowhere but the login page for anonymous users)."""
    own, other = worlds
    path = path_of(other, name, route, keys)
    observed = request_as(other, ROLES[1:5], method, path)
    reached = {role: status for role, status in observed.items() if status not in (403, 404, 405)}
    assert not reached, f"{method} {path}: members of another study reached it: {reached}"
