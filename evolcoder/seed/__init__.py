"""The seed stage: the seed instructions the evolution starts from."""
