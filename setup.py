"""Build steps that pyproject.toml cannot declare: the optional C accelerator and the data folders.

* ``bot._speedups`` is ``optional``: without a compiler the install still succeeds and the rules
  engine uses its pure-Python functions (same results, about half the speed).
* A wheel (``pip install .``) carries ``playbooks/`` and ``prompts/`` inside the package as
  ``bot/_data/``; a checkout or an editable install reads them from the repository.
"""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            for folder in ("playbooks", "prompts"):
                self.copy_tree(folder, str(Path(self.build_lib) / "bot" / "_data" / folder))


setup(
    ext_modules=[Extension("bot._speedups", ["bot/_speedups.c"], optional=True)],
    cmdclass={"build_py": BuildPyWithData},
)
