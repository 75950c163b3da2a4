"""Motive Coach: coach proposals to lead with customer ease (outside-in)."""

__version__ = "0.1.0"
