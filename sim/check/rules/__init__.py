"""The hazard rules, one module each; ``RULES`` holds every module's ``RULE``, in id order.

A module here that defines ``RULE`` is a rule: discovery imports them all at once, by name, and a
second rule with an id already taken fails this import, naming both.
"""

from ..rule import Registry

RULES = Registry.discover(__name__, __path__)
