"""GPU roofline model: presets (``presets.yaml``), our roofline of a trace (:mod:`sim.gpu.roofline`) and
LLM-Viewer's compatibility mode (:mod:`sim.gpu.llm_viewer_compat`)."""
