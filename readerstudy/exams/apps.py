from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "readerstudy.exams"
    label = "exams"
    verbose_name = "Exams and images"
