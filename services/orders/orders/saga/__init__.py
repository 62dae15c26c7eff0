"""Saga coordination: the workflow runtime and the workflows orders hosts."""
