"""Shared test actors (requester, honest and dishonest nodes) for integration and adversarial
tests."""
