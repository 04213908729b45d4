"""The planner: a SimPy model of an office on the engine's real dispatcher, Erlang C and A, staffing, calibration."""

# The engine package decides, before anything compiled is imported, whether the compiled modules (the model among
# them) or their sources run; importing it first lets it decide for cherga.sim.model too.
import cherga.engine  # noqa: F401
