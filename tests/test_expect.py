"""Failure messages are staged (type, shape, dtype, device, values) and say what to fix."""
import pytest
import torch

from autograder.checks import CheckFailed, expect_close, expect_tensor, to_sim
from autograder.runtime.wire import Opaque


def message(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_type_stage_names_what_came_back():
    assert "got a list" in message(expect_tensor, [1.0], what="out")
    assert "got a Liar" in message(expect_tensor, Opaque("Liar", "..."), what="out")


def test_shape_stage_spots_a_transpose():
    msg = message(expect_close, torch.zeros(3, 2), torch.zeros(2, 3, dtype=torch.float64), what="out")
    assert "shape (3, 2), expected (2, 3)" in msg and "transposed" in msg


def test_dtype_stage_comes_before_values():
    msg = message(expect_close, torch.ones(2), torch.zeros(2, dtype=torch.float64), what="out", dtype=torch.float64)
    assert "dtype torch.float32, expected torch.float64" in msg


def test_device_stage_tells_to_pass_device():
    msg = message(expect_tensor, torch.ones(2), what="out", device=to_sim(torch.ones(1)).device)
    assert "device=x.device" in msg


def test_values_stage_gives_error_index_and_tolerance():
    want = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    got = want.clone().float()
    got[1, 0] = 3.5
    msg = message(expect_close, got, want, what="out", atol=1e-6, rtol=0)
    assert "1 of 4 elements" in msg and "index (1, 0)" in msg and "got 3.5, expected 3" in msg and "tolerance 1e-06" in msg


def test_nan_never_passes():
    want = torch.tensor([0.0, 1.0], dtype=torch.float64)
    msg = message(expect_close, torch.tensor([float("nan"), 1.0]), want, what="out", atol=1e9, rtol=1e9)
    assert "NaN" in msg


def test_a_constant_factor_is_named():
    want = torch.randn(4, 5, dtype=torch.float64)
    msg = message(expect_close, (want * 2.0).float(), want, what="out", atol=1e-5)
    assert "constant factor of 2" in msg


def test_named_mistakes_become_hints():
    want = torch.arange(6.0, dtype=torch.float64)
    msg = message(expect_close, want.sqrt().float(), want, what="out", atol=1e-6,
                  mistakes={"distances, not squared distances": want.sqrt()})
    assert "not squared" in msg


def test_close_values_pass():
    want = torch.randn(3, 4, dtype=torch.float64)
    expect_close(want.float(), want, what="out", dtype=torch.float32, atol=1e-6, rtol=1e-6)
