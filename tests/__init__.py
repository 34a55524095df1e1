"""fashion_lit's tests; what they share is in ``tests.helpers``."""

import pytest

# The helpers assert too: their failures read as well as the test files' own.
pytest.register_assert_rewrite("tests.helpers")
