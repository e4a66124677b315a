"""The four answers of a reading (per breast: probability of malignancy in %, BI-RADS category), validated."""
import math
from collections.abc import Mapping

from django.core.exceptions import ValidationError

PROBABILITY_FIELDS = ("left_probability", "right_probability")
BIRADS_FIELDS = ("left_birads", "right_birads")
ANSWER_FIELDS = PROBABILITY_FIELDS + BIRADS_FIELDS


def clean_answers(data: Mapping) -> dict:
    """The four answers as numbers within range, or ValidationError naming each bad field."""
    cleaned, errors = {}, {}
    for field in PROBABILITY_FIELDS:
        value = data.get(field)
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors[field] = "A probability between 0 and 100 is required."
            continue
        if not math.isfinite(number) or not 0 <= number <= 100:
            errors[field] = "The probability must lie between 0 and 100."
        else:
            cleaned[field] = number
    for field in BIRADS_FIELDS:
        value = data.get(field)
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            errors[field] = "A BI-RADS category is a whole number from 0 to 6."
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            errors[field] = "A BI-RADS category from 0 to 6 is required."
            continue
        if not 0 <= number <= 6:
            errors[field] = "The BI-RADS category must lie between 0 and 6."
        else:
            cleaned[field] = number
    if errors:
        raise ValidationError(errors)
    return cleaned


def answers_of(reading) -> dict:
    return {field: getattr(reading, field) for field in ANSWER_FIELDS}
