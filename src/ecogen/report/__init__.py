"""Outputs a person reads: tables and plots. The top layer: it may import any other, none imports it
except the API and the CLI."""
