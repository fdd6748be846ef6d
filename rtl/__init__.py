"""Amaranth RTL of the modelled PEs and a small LUT Tensor Core array, in two sub-packages.

``rtl.gateware``: the hardware itself, Amaranth components and the helpers they are built from
(FP16/FP32 arithmetic, widths and latencies in ``params``, the array's instruction-word encoding in
``array_params``). ``rtl.tools``: everything that acts on the gateware from outside: Verilog emission
(``verilog``, which also holds the design table), synthesis with yosys onto ``ge.lib``
(``synth``, ``resources``), HDL simulation with Icarus/Verilator (``hdl_sim``) and the host-side
assembler of array programs (``array_program``).

The split follows Amaranth's own layout (``amaranth.lib`` for building blocks, ``amaranth.back`` for
what turns a design into something else): imports run one way only, tools → gateware, so a reader of
a component never meets a tool, and a new back end (another simulator, another synthesis flow) is a
file in ``rtl.tools`` that changes no component.
"""
