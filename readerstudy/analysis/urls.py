from django.urls import path

from readerstudy.analysis import views

app_name = "analysis"
urlpatterns = [
    path("", views.index, name="index"),
    path("studies/<int:pk>/", views.study_page, name="study"),
    path("studies/<int:pk>/ratings.csv", views.ratings_export, name="ratings-export"),
    path("studies/<int:pk>/files/<str:key>/<str:name>", views.report_file, name="report-file"),
]
