"""tongket: the data pipeline of a district's 2017-2021 law dissemination summary."""

__version__ = "0.1.0"
