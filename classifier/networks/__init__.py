"""Network definitions of the published classifier, with state-dict keys matching its weight files."""
from .densenet121 import BENIGN, MALIGNANT, PATCH_CLASSES, PatchDenseNet121, patch_probabilities
from .imagewise import (
    ImageBreastModel,
    SingleImageBreastModel,
    single_image_probabilities,
    single_image_state_dict,
)
from .optimize import optimize_for_inference
from .resnet22 import BasicBlockV2, ResNet22
from .viewwise import LABELS, VIEWS, ViewWiseModel, view_angle, viewwise_probabilities

__all__ = [
    "BENIGN",
    "MALIGNANT",
    "PATCH_CLASSES",
    "LABELS",
    "VIEWS",
    "BasicBlockV2",
    "ImageBreastModel",
    "PatchDenseNet121",
    "ResNet22",
    "SingleImageBreastModel",
    "ViewWiseModel",
    "optimize_for_inference",
    "patch_probabilities",
    "single_image_probabilities",
    "single_image_state_dict",
    "view_angle",
    "viewwise_probabilities",
]
