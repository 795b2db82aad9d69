# Per-job files into tidy tables: training, metrics, and the structural check of Q.


rule summarize_training:
    """Every model's per-epoch history, and the kept epoch of each, in two tables."""
    input:
        histories=all_histories(),
        code=code_of("summarize_training.py"),
    output:
        history="results/aggregate/training_history.csv",
        kept=report(
            "results/aggregate/training.csv",
            caption="../report/training.rst",
            category="Tables",
        ),
    log:
        "results/logs/summarize_training.log",
    benchmark:
        "results/benchmarks/summarize_training.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        min_accuracy=config_section("performance", "min_accuracy"),
    script:
        "../scripts/summarize_training.py"


rule aggregate_metrics:
    """Every trial, their mean per model (architecture x p x seed x metric x sub-network), mean ± sd
    over seeds, and the spread between trials against the spread between seeds."""
    input:
        tables=all_metric_tables(),
        training=rules.summarize_training.output.kept,
        code=code_of("aggregate_metrics.py"),
    output:
        trials="results/aggregate/metric_trials.csv",
        table="results/aggregate/metrics.csv",
        summary=report(
            "results/aggregate/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
        trial_noise=report(
            "results/aggregate/trial_noise.csv",
            caption="../report/trial_noise.rst",
            category="Tables",
        ),
    log:
        "results/logs/aggregate_metrics.log",
    benchmark:
        "results/benchmarks/aggregate_metrics.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        exclude_poor_models=config_section("performance", "exclude_poor_models"),
        best_k=config_section("performance", "best_k"),
        best_k_metrics=config_section("performance", "best_k_metrics"),
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
    group:
        "summary"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    script:
        "../scripts/structural_modularity.py"


rule check_claims:
    """Each claim of section 4 and A.4 on this run: statistic, bootstrap interval, holds / fails."""
    input:
        metrics=rules.aggregate_metrics.output.table,
        training=rules.summarize_training.output.kept,
        modularity=rules.structural_modularity.output[0],
        code=code_of("check_claims.py"),
    output:
        report(
            "results/aggregate/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        "results/logs/check_claims.log",
    benchmark:
        "results/benchmarks/check_claims.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        settings=config_section("claims"),
        exclude_poor_models=config_section("performance", "exclude_poor_models"),
    script:
        "../scripts/check_claims.py"
