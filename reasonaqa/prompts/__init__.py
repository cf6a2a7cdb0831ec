"""Prompts: the bundled Jinja templates (``templates/``) and the sandboxed store that loads them."""
