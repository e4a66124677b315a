# The same cast and settings as the studies tests.
from tests.studies.conftest import fast_password_hashing, people  # noqa: F401
