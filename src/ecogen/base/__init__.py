"""Base utilities every layer may use: small modules, one concept each (never one ``utils.py``)."""
