"""quickstart: Meta Pixel + Conversions API through Adobe Experience Platform, as code."""

__version__ = "0.1.0"
