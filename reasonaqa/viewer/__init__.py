"""``reasonaqa view``: a local, read-only web page over a run or build folder.

``folder`` finds the Parquet files and the card, ``query`` pages and filters rows in DuckDB
without loading them, ``page`` renders HTML, ``server`` serves it (with clips and plots).
"""
