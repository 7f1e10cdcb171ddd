"""One ml_collections config file per experiment of the papers (see README)."""
