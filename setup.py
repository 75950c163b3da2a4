"""Build the optional C accelerator; everything else is declared in pyproject.toml.

``optional=True``: without a compiler the install still succeeds and the rules engine uses its
pure-Python scan (same results, about half the speed).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("bot._speedups", ["bot/_speedups.c"], optional=True)])
