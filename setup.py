"""Map the repository's top-level folders into one import name, ``automl_local``.

The design card fixes the folders (``automl_local/``, ``backends/``, ``service/``), but a
wheel that installed ``backends`` and ``service`` as top-level names would shadow, or be
shadowed by, a user's own folders of those common names. So the build installs
``backends/`` as ``automl_local.backends`` and ``service/`` as ``automl_local.service``;
``pip install -e .`` gets the same mapping from setuptools' editable finder. Everything
else about the project is in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

MAPPED = {"automl_local.backends": "backends", "automl_local.service": "service"}

packages = find_packages(include=["automl_local", "automl_local.*"])
for name, folder in MAPPED.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(where=folder)]

setup(packages=packages, package_dir=MAPPED)
