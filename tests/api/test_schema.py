import pytest
import yaml
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_openapi_schema_describes_the_api(make_user):
    client = APIClient()
    client.force_authenticate(make_user("stat", "statistician"))
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    for path in ("/api/studies/", "/api/studies/{id}/progress/", "/api/reading-sets/sample/", "/api/assignments/",
                 "/api/readings/", "/api/readings/{id}/amend/", "/api/audit-events/", "/api/readers/", "/api/token/",
                 "/api/studies/{id}/unblind/", "/api/studies/{id}/members/",
                 "/api/viewer/assignments/{assignment_id}/exams/{exam_id}/",
                 "/api/viewer/assignments/{assignment_id}/exams/{exam_id}/draft",
                 "/api/viewer/assignments/{assignment_id}/exams/{exam_id}/submit"):
        assert path in schema["paths"], path
    assert schema["paths"]["/api/studies/{id}/"]["get"]["parameters"][0]["schema"]["type"] == "integer"
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    assert client.get("/api/docs/").status_code == 200
