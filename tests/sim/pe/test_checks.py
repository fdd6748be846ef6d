"""sim.pe.checks: the shared PE input checks name the field and the allowed values."""

import numpy as np
import pytest

from sim.errors import InputError
from sim.pe import checks
from sim.pe.base import GemmProblem, PEConfig


def test_require_choice_names_field_and_allowed_values():
    checks.require_choice("--acts", "int8", ("int4", "int8"), "x")
    with pytest.raises(InputError) as err:
        checks.require_choice("--acts", "fp16", ("int4", "int8"), "the X PE")
    assert (err.value.field, err.value.allowed) == ("--acts", "int4, int8")
    assert "the X PE" in str(err.value) and "'fp16'" in str(err.value)


@pytest.mark.parametrize("shape,field", [((0, 2, 4), "--m"), ((2, -1, 4), "--n"), ((2, 2, True), "--k"),
                                         ((2, 2, 4.0), "--k")])
def test_check_shape_rejects_non_positive_integers(shape, field):
    with pytest.raises(InputError) as err:
        checks.check_shape(GemmProblem(*shape, "int4", "int8"))
    assert err.value.field == field


def test_check_shape_accepts_numpy_integers():
    checks.check_shape(GemmProblem(np.int64(3), 2, 4, "int4", "int8"))


@pytest.mark.parametrize("array", [None, (0, 4), (4,), (4, 4, 4), (True, 4), (2.0, 4)])
def test_check_array_rejects_bad_arrays(array):
    with pytest.raises(InputError) as err:
        checks.check_array(PEConfig(array=array))
    assert err.value.field == "--array" and err.value.allowed


def test_check_array_returns_rows_and_cols():
    assert checks.check_array(PEConfig(array=[np.int32(3), 5])) == (3, 5)


@pytest.mark.parametrize("tile", [(2, 64, 3), (0, 64, 4), (2, 64), None])
def test_check_tile_rejects_bad_tiles(tile):
    with pytest.raises(InputError) as err:
        checks.check_tile(PEConfig(tile=tile), (2, 4))
    assert err.value.field == "--tile"


def test_group_size_resolution():
    # the problem's group, else the format default, else K
    assert checks.group_size(GemmProblem(1, 1, 64, "int4", "int8", 16)) == 16
    assert checks.group_size(GemmProblem(1, 1, 260, "int4", "int8")) == 260
    assert checks.group_size(GemmProblem(1, 1, 256, "bitmod_fp4", "fp16")) == 128
    # a default that does not divide K: per channel only where the PE asks for that fallback
    assert checks.group_size(GemmProblem(1, 1, 260, "bitmod_fp4", "fp16"), fallback_to_per_channel=True) == 260
    with pytest.raises(InputError) as err:
        checks.group_size(GemmProblem(1, 1, 260, "bitmod_fp4", "fp16"))
    assert err.value.field == "--group-size"


@pytest.mark.parametrize("g", [0, 3, -4, 2.0])
def test_group_size_must_divide_k(g):
    for fallback in (False, True):
        with pytest.raises(InputError) as err:
            checks.group_size(GemmProblem(1, 1, 8, "int4", "int8", g), fallback_to_per_channel=fallback)
        assert err.value.field == "--group-size"


@pytest.mark.parametrize("acts,good,bad", [
    ("int4", [-8, 7], [8, 0.5]),
    ("int8", [-128, 127], [-129, 128, 1.5]),
    ("int16", [-32768, 32767], [32768]),
    ("fp16", [65504.0, 2.0**-24, -0.0], [0.1, 65520.0, 2.0**-26]),
    ("bf16", [1.0 + 2.0**-7], [1.0 + 2.0**-8]),
    ("fp8_e4m3", [448.0, -1.125], [1.0625, 480.0]),
    ("fp8_e5m2", [57344.0, 1.25], [1.125]),
])
def test_check_act_values(acts, good, bad):
    np.testing.assert_array_equal(checks.check_act_values(np.array([good]), acts), np.array([good], dtype=float))
    for v in bad + [np.nan, np.inf]:
        with pytest.raises(InputError) as err:
            checks.check_act_values(np.array([good + [v]]), acts, field="a")
        assert err.value.field == "a" and err.value.allowed


def test_check_operands_names_the_field():
    from sim import formats

    p = GemmProblem(2, 3, 8, "int4", "int8", 4)
    qw = formats.get("int4").quantize(np.ones((3, 8)), 4)
    a = np.ones((2, 8))
    assert checks.check_operands(p, a, qw, 4).shape == (2, 8)
    cases = [((None, qw, 4), "--mode"), ((np.ones((2, 7)), qw, 4), "activations"),
             ((a, formats.get("int8").quantize(np.ones((3, 8)), 4), 4), "weights"),
             ((a, formats.get("int4").quantize(np.ones((4, 8)), 4), 4), "weights"),
             ((a, formats.get("int4").quantize(np.ones((3, 8)), 8), 4), "--group-size")]
    for args, field in cases:
        with pytest.raises(InputError) as err:
            checks.check_operands(p, *args)
        assert err.value.field == field
