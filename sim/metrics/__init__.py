"""What a plan costs: memory over time, the calls it makes (``simulate``), their predicted CPU time
(``cost``), and the memory floor a perfect planner would need (``floor``)."""

from .cost import DEFAULT, Costs, load_costs, predict
from .floor import Floor, floor_of, greedy_by_size
from .simulate import Metrics, memory, simulate, texture_memory

__all__ = ["DEFAULT", "Costs", "Floor", "Metrics", "floor_of", "greedy_by_size", "load_costs", "memory", "predict",
           "simulate", "texture_memory"]
