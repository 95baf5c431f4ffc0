"""Generation: shard planning, the transformers and openai backends, resumable shard files."""
