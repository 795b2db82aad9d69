"""What the workflow's jobs need around the science: settings from the config, a job's log and
threads, atomic writes, checkpoints, code inputs, config errors, software versions, priorities."""
