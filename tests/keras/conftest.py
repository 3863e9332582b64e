"""Keras tests run on the torch backend (the only one installed here). The backend is chosen
when Keras is first imported, so it is set here, before any test module imports it."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"
