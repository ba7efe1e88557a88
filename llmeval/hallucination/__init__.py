"""Hallucination detectors: claims and their support in a source (grounding features, NLI), used by the scorers."""
