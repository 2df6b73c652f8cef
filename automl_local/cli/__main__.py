"""``python -m automl_local.cli`` = the ``automl-local`` command."""

from automl_local.cli import main

main()
