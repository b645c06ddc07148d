"""Referral Desk: case management for an oncology second-opinion office."""

from importlib import metadata

APP_NAME = "Referral Desk"

try:
    __version__ = metadata.version("referral-desk")
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"
