"""Shopkeep: an open-source conversational commerce assistant.

The model proposes; typed code disposes. See ARCHITECTURE in the README for the layers.
"""

__version__ = "0.1.0"
