"""LLM judges: prompts through the run's generation plan, strict parsing with bounded retries, agreement reports."""
