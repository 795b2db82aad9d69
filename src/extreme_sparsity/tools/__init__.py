"""Tools around the workflow: the benchmark, the cost model, the schedule simulator, the device check."""
