"""imgpro: self-hostable image hosting and delivery that speaks the img.pro REST API."""

# The one place the version is written: pyproject.toml reads it (`dynamic = ["version"]`),
# the CLI's --version and the OpenAPI document print it.
__version__ = "0.1.0"
