"""Tools acting on rtl.gateware: Verilog emission, synthesis, HDL simulation, program assembly."""
