"""Outputs a person looks at: image grids and files, later run reports and plots."""
