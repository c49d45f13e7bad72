"""ibov: collect and analyse the composition of B3's stock indices.

Importing this package must stay cheap: the CLI's ``--help`` path imports it.
"""

__version__ = "0.1.0"
