"""Job names: Azure-style generated names and the rule a given name must follow.

Kept apart from ``_convert`` (which imports the engine's estimator registry,
seconds of scikit-learn imports) so that pipelines and the control plane can
name jobs cheaply.
"""

from __future__ import annotations

import re
import secrets

from automl_local.exceptions import ConfigError

__all__ = ["JOB_NAME_RE", "check_job_name", "generate_job_name"]

_ADJECTIVES = ["amber", "brave", "calm", "dreamy", "eager", "frosty", "gentle", "happy", "icy",
               "jolly", "keen", "lively", "mellow", "nifty", "olive", "plucky", "quiet", "rosy",
               "sunny", "tidy", "upbeat", "vivid", "witty", "zesty"]  # fmt: skip
_NOUNS = ["apple", "badger", "cactus", "dolphin", "engine", "falcon", "garden", "harbor", "island",
          "jelly", "kettle", "lamp", "magnet", "needle", "orange", "pepper", "quill", "river",
          "spoon", "tiger", "umbrella", "violin", "walrus", "yacht"]  # fmt: skip
JOB_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$")


def generate_job_name() -> str:
    """Azure-style random job names (``quirky_lamp_x7bz2m1k``)."""
    tail = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}_{tail}"


def check_job_name(name: str) -> str:
    if not JOB_NAME_RE.match(name):
        raise ConfigError(
            f"job name {name!r} is not valid: use letters, digits, '_' and '-', starting with a "
            "letter or digit, at most 255 characters."
        )
    return name
