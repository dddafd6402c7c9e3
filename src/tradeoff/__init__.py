"""tradeoff: which transformer should I use? Measured, side by side, on your hardware and data."""
__version__ = "0.1.0"
