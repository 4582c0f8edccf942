"""What scikit-learn's own test suite provides to its MLP tests."""

import pytest


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture; its default seed is 42."""
    return 42
