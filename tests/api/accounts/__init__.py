"""API tests of the accounts module."""
