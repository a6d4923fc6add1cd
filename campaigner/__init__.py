"""campaigner: run outbound call campaigns on Exotel from a reviewed YAML file."""

__version__ = "0.1.0"
