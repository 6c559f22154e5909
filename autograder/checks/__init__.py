"""Everything a check author needs: the decorator, items, inputs and staged expectations."""
from autograder.checks.api import CATEGORIES, Check, CheckFailed, Item, check, collect
from autograder.checks.expect import (
    describe, expect_close, expect_equal, expect_grads, expect_raises, expect_tensor, expect_unchanged, fail,
    values_of,
)
from autograder.checks.gradcheck import expect_gradcheck
from autograder.checks.inputs import Inputs, noncontiguous
from autograder.runtime.simdevice import SIM_DEVICE, to_sim

__all__ = [
    "CATEGORIES", "Check", "CheckFailed", "Inputs", "Item", "SIM_DEVICE", "check", "collect", "describe",
    "expect_close", "expect_equal", "expect_gradcheck", "expect_grads", "expect_raises", "expect_tensor", "expect_unchanged", "fail",
    "noncontiguous", "to_sim", "values_of",
]
