"""What a plan costs: memory over time, the calls it makes (``simulate``) and their predicted CPU time (``cost``)."""

from .cost import DEFAULT, Costs, load_costs, predict
from .simulate import Metrics, memory, simulate, texture_memory

__all__ = ["DEFAULT", "Costs", "Metrics", "load_costs", "memory", "predict", "simulate", "texture_memory"]
