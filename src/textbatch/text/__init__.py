"""Text: the word analyzer (normalize, tokenize, n-grams) and stable hashing.

Owns how a string becomes tokens (``analyzer``: scikit-learn's word analyzer, fast batch path)
and how a token becomes a process-independent number (``hashing``: FNV-1a 64 of UTF-8 bytes).
Leaves counting, vocabularies and weights to ``textbatch.features``.
"""
