# Per-job files into tidy tables: training, metrics, and the structural check of Q.


rule summarize_training:
    """Every model's per-epoch history, and the kept epoch of each, in two tables."""
    input:
        histories=all_histories(),
        code=code_of("summarize_training.py"),
    output:
        history="results/aggregate/training_history.csv",
        kept="results/aggregate/training.csv",
    log:
        "results/logs/summarize_training.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/summarize_training.py"


rule aggregate_metrics:
    """One row per architecture x p x seed x metric x sub-network, and mean ± sd over seeds."""
    input:
        tables=all_metric_tables(),
        training=rules.summarize_training.output.kept,
        code=code_of("aggregate_metrics.py"),
    output:
        table="results/aggregate/metrics.csv",
        summary=report(
            "results/aggregate/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
    log:
        "results/logs/aggregate_metrics.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/aggregate_metrics.py"


rule structural_modularity:
    """Q of every trained network's adjacency matrix (equation 9) beside equation (5)."""
    input:
        models=all_trained_models(),
        code=code_of("structural_modularity.py"),
    output:
        "results/aggregate/modularity.csv",
    log:
        "results/logs/structural_modularity.log",
    benchmark:
        "results/benchmarks/structural_modularity.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    script:
        "../scripts/structural_modularity.py"
