"""campaigner: run outbound call campaigns on Exotel from a reviewed YAML file."""

__version__ = "0.2.0"  # released as the git tag v0.2.0 (docs/gitops.md)
