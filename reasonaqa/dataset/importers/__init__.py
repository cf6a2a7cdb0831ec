"""Importers of existing audio QA data: each turns one source format into QA row dicts.

Every importer yields rows built with :func:`reasonaqa.schemas.empty_row`, marked
``origin="existing"`` with ``source`` set to the subset name (``CLE``, ``ACD-1``...), so
imported and synthetic rows share one schema and one writer.
"""
