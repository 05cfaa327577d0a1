"""scaffold: Copier blueprints for a service's whole operational package."""

__version__ = "0.1.0"
