"""Fine-tuning: tokenisation with prompt masking, model factory, DeepSpeed/Trainer runner."""
