"""Tooling of the Microservices on Kubernetes workshop: the `workshop` command."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
