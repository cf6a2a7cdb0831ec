"""Datasets: recipes, importers of existing QA, the split guard, merging and the build."""
