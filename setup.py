"""The one build step pyproject.toml cannot declare: the data folders.

A wheel (``pip install .``) carries ``playbooks/``, ``prompts/`` and ``manifest.yml`` (the OAuth flow's scopes)
  inside the package as ``bot/_data/``; a checkout or an editable install reads them from the repository.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            for folder in ("playbooks", "prompts"):
                self.copy_tree(folder, str(Path(self.build_lib) / "bot" / "_data" / folder))
            self.copy_file("manifest.yml", str(Path(self.build_lib) / "bot" / "_data" / "manifest.yml"))


setup(
    cmdclass={"build_py": BuildPyWithData},
)
