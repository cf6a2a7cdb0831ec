"""reasonaqa: build ReasonAQA-style audio question-answer datasets from captions."""

__version__ = "0.1.0"
