# tests: tests/unit/test_cli.py, tests/unit/test_admin_cli.py
"""The daemon's settings for the operator commands (`smscd queue`, `billing`, `shell`,
`admin-token`): the `--config FILE` / `--data-dir DIR` options and their loading.

Rules:
- Without --config the embedded defaults (and $SMSCD_* environment) are used, as `smscd run`.
- --data-dir, when given and not empty, replaces the settings' data_dir.
- A settings file with problems prints every problem on stderr and exits 2.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import click

from .config import Config, ConfigError, default_config, load_config_file

EXIT_BAD_SETTINGS = 2

_OPTIONS = (
    click.option("--config", "config_file", metavar="FILE", help="The daemon's settings file."),
    click.option("--data-dir", metavar="DIR", help="The daemon's data directory."),
)


def settings_options(fn: Any) -> Any:
    """Adds --config and --data-dir (as `config_file`, `data_dir`) to a click command."""
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def load_settings(config_file: str | None, data_dir: str | None) -> Config:
    """The daemon's settings for an operator command (exits 2 on a bad file)."""
    try:
        config = (load_config_file(config_file, os.environ) if config_file is not None
                  else default_config(os.environ))
    except ConfigError as e:
        for problem in e.problems:
            click.echo(problem, err=True)
        sys.exit(EXIT_BAD_SETTINGS)
    if data_dir:
        config = dataclasses.replace(config, data_dir=Path(data_dir))
    return config
