"""Generation engines: the plan and its cache, the local thread and model pools, and the Ray Data engine."""
