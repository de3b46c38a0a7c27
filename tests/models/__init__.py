"""Model tests (a package, so gin does not take tests/models for the gin models/ folder)."""
