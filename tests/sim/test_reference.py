import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats, reference


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 5), n=st.integers(1, 7), groups=st.integers(1, 4),
       g=st.sampled_from([1, 4, 32]), name=st.sampled_from(["int2", "int4_asym", "int8", "ternary", "binary"]),
       seed=st.integers(0, 2**32 - 1))
def test_mpgemm_matches_float64_matmul_of_dequantized_weights(m, n, groups, g, name, seed):
    rng = np.random.default_rng(seed)
    k = groups * g
    a = rng.integers(-128, 128, size=(m, k))
    qw = formats.get(name).quantize(rng.normal(size=(n, k)), group_size=g)
    p = reference.group_partial_sums(a, qw)
    assert p.dtype == np.int64  # integer activations x integer levels: exact integer sums
    np.testing.assert_allclose(reference.mpgemm(a, qw), reference.dequant_matmul(a, qw), rtol=1e-12, atol=1e-9)


def test_sequential_fp16_sum_rounds_after_each_add():
    terms = np.array([2048.0, 1.0, 1.0, 1.0])  # 2049 is not an fp16 value: each +1 is lost in order
    assert reference.sequential_sum(terms, np.float16) == 2048.0
    assert reference.tree_sum(terms, np.float16) == 2050.0  # but (1 + 1) survives in a tree


def test_tree_sum_pairs_adjacent_terms():
    assert reference.tree_sum(np.array([1.0, 2.0, 3.0, 4.0]), np.float64) == 10.0


def test_mpgemm_rounded_is_mpgemm_with_fp32_terms_and_an_fp16_result():
    rng = np.random.default_rng(4)
    qw = formats.get("int4_asym").quantize(rng.normal(size=(5, 64)), group_size=16)
    a = rng.integers(-128, 128, size=(3, 64))
    assert np.array_equal(reference.mpgemm_rounded(a, qw, acc="fp64", out="fp64"), reference.mpgemm(a, qw))
    got = reference.mpgemm_rounded(a, qw)
    p = reference.group_partial_sums(a, qw) * reference.group_scales(qw)[None]
    want = np.float32(0)
    for g in range(p.shape[2]):
        want = (want + p[:, :, g].astype(np.float32)).astype(np.float32)
    assert np.array_equal(got, want.astype(np.float16).astype(np.float64))
