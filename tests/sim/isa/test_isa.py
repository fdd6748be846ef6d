import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import isa
from sim.errors import InputError

_name = st.sampled_from(["wbuf", "abuf", "tbuf", "obuf"])
_pos = st.integers(1, 1 << 40)


@st.composite
def instrs(draw, index):
    op = draw(st.sampled_from(isa.OPCODES))
    args = {}
    for name, spec in isa.SCHEMA[op].items():
        if spec[1] is not ... and draw(st.booleans()):
            continue
        if spec[0] == "int":  # within the operand's bounds and the per-instruction work and extent bounds
            top = {"rows": args.get("bytes", 1), "addr": 1 << 40, "bytes": 1 << 40}.get(name, 1 << 12)
            args[name] = draw(st.integers(spec[2], min(spec[3], top)))
        elif spec[0] == "op":
            args[name] = draw(st.sampled_from(isa.VEC_OPS))
        else:
            args[name] = draw(st.sampled_from(["int2", "fp16", "wbuf", "bitmod_fp4", "x.y_z"]))
    deps = draw(st.lists(st.integers(0, index - 1), max_size=3)) if index else []
    sizes = st.lists(st.tuples(_name, _pos), max_size=2)
    acc = st.lists(st.one_of(st.tuples(_name, _pos), st.tuples(_name, _pos, st.integers(1, 64))), max_size=2)
    label = draw(st.one_of(st.none(), st.just(f"L{index}"), st.just(f"x_{index}.a")))
    alloc = [(b, max(n, args["bytes"]) if op == "LOAD" and b == args.get("buf") else n) for b, n in draw(sizes)]
    return isa.make(op, deps=deps, alloc=alloc, free=draw(sizes), rd=draw(acc), wr=draw(acc), label=label,
                    **args)


@st.composite
def programs(draw):
    n = draw(st.integers(0, 8))
    return isa.Program(instrs=[draw(instrs(i)) for i in range(n)],
                       arch=draw(st.one_of(st.none(), st.just("lut-tc-28nm"))))


@settings(max_examples=80, deadline=None)
@given(programs())
def test_text_round_trip(p):
    text = isa.format(p)
    assert isa.parse(text) == p
    assert isa.format(isa.parse(text)) == text


@settings(max_examples=80, deadline=None)
@given(programs())
def test_binary_round_trip(p):
    assert isa.decode(isa.encode(p)) == p


def test_example_program_parses(tmp_path):
    p = isa.load("examples/lmma_tile.s")
    assert [i.op for i in p.instrs] == ["LOAD", "LOAD", "PRECOMPUTE", "LMMA", "STORE"]
    assert p.instrs[3].deps == (0, 2) and p.arch == "lut-tc-28nm"
    f = tmp_path / "p.bin"
    f.write_bytes(isa.encode(p))
    assert isa.load(f) == p


@pytest.mark.parametrize("text, match", [
    ("FOO x=1", "unknown opcode"),
    ("LOAD buf=wbuf addr=0", "needs operand 'bytes'"),
    ("LOAD buf=wbuf addr=0 bytes=-3", "-3 is out of range"),
    ("LOAD buf=wbuf addr=0 bytes=4 after=nowhere", "unknown label"),
    ("LOAD buf=wbuf addr=0 bytes=4 colour=red", "not an operand"),
    ("VEC op=teleport elems=3", "unknown vector op"),
    ("SYNC after=@0", "not an earlier instruction"),
    ("LOAD buf=wbuf addr=0 bytes=4 alloc=wbuf", "bad entry"),
])
def test_bad_text_names_the_problem(text, match):
    with pytest.raises(InputError, match=match):
        isa.parse(text)


def test_errors_name_the_line():
    with pytest.raises(InputError, match="line 3"):
        isa.parse("; comment\nSYNC\nLMMA m=1\n")


def test_corrupt_binary():
    with pytest.raises(InputError):
        isa.decode(b"LTSA\x01\x00")


def test_program_add_names_the_instruction():
    p = isa.Program()
    p.add("SYNC")
    with pytest.raises(InputError) as exc:
        p.add("LOAD", buf="wbuf", addr=0, bytes=0)
    assert exc.value.field == "instr[1].bytes"
    with pytest.raises(InputError, match="instr\\[1\\].colour"):
        p.add("SYNC", colour=1)
    assert len(p) == 1
