"""Generation (the generate stage): shard planning, the transformers and openai backends, resumable shard files."""
