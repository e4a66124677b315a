from django.urls import path

from . import views

app_name = "exams"
urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("truth/upload/", views.truth_upload, name="truth-upload"),
    path("images/<int:pk>/pixels", views.image_pixels, name="image-pixels"),
    path("images/<int:pk>/header", views.image_header, name="image-header"),
    path("images/<int:pk>/preview", views.image_preview, name="image-preview"),
]
