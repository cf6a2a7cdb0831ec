"""``python -m reasonaqa`` runs the CLI."""

from reasonaqa.cli import main

main()
