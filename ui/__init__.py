"""The page and the JSON API, both served by NiceGUI."""
