"""imgpro: self-hostable image hosting and delivery that speaks the img.pro REST API."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The version is written once, in pyproject.toml; the installed metadata carries it.
    __version__ = version("imgpro-server")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
