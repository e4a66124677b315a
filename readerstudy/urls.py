from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from readerstudy.accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("exams/", include("readerstudy.exams.urls")),
    path("read/", include("readerstudy.studies.urls_reader")),
    path("studies/", include("readerstudy.studies.urls_coordinator")),
    path("models/", include("readerstudy.predictions.urls")),
    path("analysis/", include("readerstudy.analysis.urls")),
    path("api/", include("readerstudy.api.urls")),
]
