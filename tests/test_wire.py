"""What crosses between the student's process and the grader: plain data, rebuilt fresh."""
import json

import numpy as np
import pytest
import torch

from autograder.runtime import simdevice, wire


def roundtrip(obj, keep=None):
    tree, buffers = wire.encode(obj, keep)
    return wire.decode(json.loads(json.dumps(tree)), buffers)


def test_tensor_values_dtype_shape_and_strides_survive():
    base = torch.randn(4, 6, dtype=torch.float64)
    t = base[:, ::2].t()
    back = roundtrip(t)
    assert type(back) is torch.Tensor
    assert torch.equal(back, t) and back.dtype == t.dtype
    assert back.stride() == t.stride() and not back.is_contiguous()


@pytest.mark.parametrize("dtype", [torch.bool, torch.uint8, torch.int32, torch.int64, torch.float16,
                                   torch.bfloat16, torch.float32, torch.complex64])
def test_every_dtype_roundtrips(dtype):
    t = (torch.randn(3, 5) * 10).to(dtype)
    assert torch.equal(roundtrip(t), t)


def test_empty_zero_dim_and_expanded_tensors():
    for t in (torch.empty(0, 3), torch.tensor(2.5), torch.ones(3, 1).expand(3, 4)):
        back = roundtrip(t)
        assert back.shape == t.shape and torch.equal(back, t)


def test_requires_grad_and_grad_are_recorded():
    t = torch.randn(3, requires_grad=True)
    t.grad = torch.ones(3)
    back = roundtrip(t)
    assert back.requires_grad and back.is_leaf and torch.equal(back.grad, torch.ones(3))


def test_meta_and_simulated_device_keep_their_device():
    assert roundtrip(torch.empty(2, 3, device="meta")).device.type == "meta"
    back = roundtrip(simdevice.to_sim(torch.arange(4.0)))
    assert back.device == simdevice.SIM_DEVICE and torch.equal(simdevice.from_sim(back), torch.arange(4.0))


def test_strided_ndarray_keeps_layout():
    a = np.arange(24.0).reshape(4, 6)[:, ::2]
    back = roundtrip(a)
    assert back.strides == a.strides and np.array_equal(back, a) and back.flags.writeable


def test_containers_and_scalars():
    obj = {"a": [1, 2.5, None, True], (1, 2): ("x", float("nan"), 3 + 4j), 3: torch.float64}
    back = roundtrip(obj)
    assert back["a"] == [1, 2.5, None, True] and back[3] is torch.float64
    assert back[(1, 2)][0] == "x" and back[(1, 2)][1] != back[(1, 2)][1] and back[(1, 2)][2] == 3 + 4j


def test_tensor_subclass_and_foreign_objects_do_not_cross():
    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    back = roundtrip(torch.ones(2).as_subclass(Liar))
    assert type(back) is wire.Opaque and "Liar" in back.type

    class Fake:
        shape = (2, 2)

    assert type(roundtrip(Fake())) is wire.Opaque


def test_float_subclass_does_not_pass_as_float():
    class AlwaysEqual(float):
        def __eq__(self, other):
            return True

    assert type(roundtrip(AlwaysEqual(1.0))) is wire.Opaque


def test_objects_stay_behind_handles():
    kept = []

    def keep(obj):
        kept.append(obj)
        return wire.Handle(len(kept), wire.type_name(obj), wire.safe_repr(obj))

    module = torch.nn.Linear(2, 3)
    handle = roundtrip(module, keep)
    assert type(handle) is wire.Handle and kept == [module] and "Linear" in handle.type


def test_malformed_messages_are_rejected():
    with pytest.raises(ValueError):
        wire.decode({"$pickle": "..."}, [])
    with pytest.raises(ValueError):
        wire.decode({"$dtype": "Tensor"}, [])
