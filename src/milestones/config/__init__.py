"""Configuration: the TOML file's settings models, their loading, and their generated docs."""
