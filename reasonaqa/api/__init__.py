"""The Python API behind ``reasonaqa.generate``, ``reasonaqa.agenerate`` and
``reasonaqa.read_run``: ``running`` runs the engine from scripts and notebooks, ``reading``
loads a finished run's rows. The package root exposes them lazily (``reasonaqa.__getattr__``).
"""
