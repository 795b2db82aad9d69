# The paper's figures, one rule each; plot parameters come from config["figures"][name].


rule plot_specialization:
    """Figure 2: specialization of each sub-network against p and against Q."""
    input:
        table=rules.aggregate_metrics.output.table,
        code=code_of("plot_specialization.py"),
    output:
        png=report(
            "results/figures/figure2_specialization.png",
            caption="../report/figure2_specialization.rst",
            category="Figures",
        ),
        pdf="results/figures/figure2_specialization.pdf",
    log:
        "results/logs/plot_specialization.log",
    benchmark:
        "results/benchmarks/plot_specialization.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        style=config_section("figures", "specialization"),
        exclude_poor_models=config_section("performance", "exclude_poor_models"),
    script:
        "../scripts/plot_specialization.py"


rule plot_raw_metrics:
    """Figure 3: raw metrics M(n, k), own digit against other digit, and the supermask control."""
    input:
        table=rules.aggregate_metrics.output.table,
        code=code_of("plot_raw_metrics.py"),
    output:
        png=report(
            "results/figures/figure3_raw_metrics.png",
            caption="../report/figure3_raw_metrics.rst",
            category="Figures",
        ),
        pdf="results/figures/figure3_raw_metrics.pdf",
    log:
        "results/logs/plot_raw_metrics.log",
    benchmark:
        "results/benchmarks/plot_raw_metrics.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        style=config_section("figures", "raw_metrics"),
        exclude_poor_models=config_section("performance", "exclude_poor_models"),
    script:
        "../scripts/plot_raw_metrics.py"


rule plot_accuracy:
    """Figure 4: test accuracy, decision share of sub-network 0 and training length against p."""
    input:
        kept=rules.summarize_training.output.kept,
        code=code_of("plot_accuracy.py"),
    output:
        png=report(
            "results/figures/figure4_accuracy.png",
            caption="../report/figure4_accuracy.rst",
            category="Figures",
        ),
        pdf="results/figures/figure4_accuracy.pdf",
    log:
        "results/logs/plot_accuracy.log",
    benchmark:
        "results/benchmarks/plot_accuracy.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        style=config_section("figures", "accuracy"),
        exclude_poor_models=config_section("performance", "exclude_poor_models"),
        min_accuracy=config_section("performance", "min_accuracy"),
    script:
        "../scripts/plot_accuracy.py"


rule plot_modularity:
    """Structural check: Q of the trained adjacency matrices against equation (5)."""
    input:
        table=rules.structural_modularity.output[0],
        code=code_of("plot_modularity.py"),
    output:
        png=report(
            "results/figures/modularity_check.png",
            caption="../report/modularity_check.rst",
            category="Figures",
        ),
        pdf="results/figures/modularity_check.pdf",
    log:
        "results/logs/plot_modularity.log",
    benchmark:
        "results/benchmarks/plot_modularity.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        style=config_section("figures", "modularity"),
    script:
        "../scripts/plot_modularity.py"


rule plot_calibration:
    """Section 3.2's choice of q: M(n, n) and the masks' accuracy against q at the sparsest p."""
    input:
        table=rules.calibrate_mask_q.output[0],
        code=code_of("plot_calibration.py"),
    output:
        png=report(
            "results/figures/mask_calibration.png",
            caption="../report/mask_calibration.rst",
            category="Figures",
        ),
        pdf="results/figures/mask_calibration.pdf",
    log:
        "results/logs/plot_calibration.log",
    benchmark:
        "results/benchmarks/plot_calibration.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        style=config_section("figures", "calibration"),
    script:
        "../scripts/plot_calibration.py"
