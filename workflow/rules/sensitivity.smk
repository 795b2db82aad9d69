# Not part of the default study: `snakemake --cores all sensitivity`. How much the weight-mask and
# bottleneck metrics depend on their own training choices, on the first seeds of the study.


rule bottleneck_budgets:
    """The bottleneck metric of one model after each retraining budget (epochs)."""
    input:
        model=trained_model_of("bottleneck"),
        dataset=PAIRED_DATASET,
        code=code_of("bottleneck_budgets.py"),
    output:
        BOTTLENECK_BUDGET_TABLE,
    log:
        "results/logs/bottleneck_budgets/p={p}/seed={seed}.log",
    benchmark:
        "results/benchmarks/bottleneck_budgets/p={p}/seed={seed}.tsv"
    group:
        "sweeps"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(3),
    params:
        settings=bottleneck_settings(),
        budgets=config_section("sensitivity", "bottleneck_epochs"),
        data=config_section("data"),
    script:
        "../scripts/bottleneck_budgets.py"


rule aggregate_sensitivity:
    """Specialization of every model under every setting of the sensitivity study, and its curves."""
    input:
        sweeps=sensitivity_sweeps(),
        budgets=sensitivity_budget_tables(),
        training=rules.summarize_training.output.kept,
        code=code_of("aggregate_sensitivity.py"),
    output:
        weight_mask="results/sensitivity/weight_mask.csv",
        bottleneck="results/sensitivity/bottleneck.csv",
        curves=report(
            "results/sensitivity/curves.csv",
            caption="../report/sensitivity_curves.rst",
            category="Sensitivity",
        ),
    log:
        "results/logs/aggregate_sensitivity.log",
    benchmark:
        "results/benchmarks/aggregate_sensitivity.tsv"
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
    script:
        "../scripts/aggregate_sensitivity.py"


rule plot_sensitivity:
    """Weight-mask specialization for every q and score initialisation, both ways of counting
    W_sparse, and the bottleneck metric for each retraining budget."""
    input:
        curves=rules.aggregate_sensitivity.output.curves,
        code=code_of("plot_sensitivity.py"),
    output:
        png=report(
            "results/figures/sensitivity.png",
            caption="../report/sensitivity.rst",
            category="Sensitivity",
        ),
        pdf="results/figures/sensitivity.pdf",
    log:
        "results/logs/plot_sensitivity.log",
    benchmark:
        "results/benchmarks/plot_sensitivity.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        style=config_section("figures", "sensitivity"),
    script:
        "../scripts/plot_sensitivity.py"


rule sensitivity:
    """Target: the sensitivity study (tables and figure)."""
    input:
        rules.plot_sensitivity.output,
        rules.aggregate_sensitivity.output,
