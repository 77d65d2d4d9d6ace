"""Test utilities shipped with the library (loopback fake servers, scripted responders)."""
