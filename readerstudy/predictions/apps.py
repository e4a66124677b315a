from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "readerstudy.predictions"
    label = "predictions"
    verbose_name = "Model versions, runs and predictions"
