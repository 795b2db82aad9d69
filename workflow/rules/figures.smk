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
    conda:
        "../../envs/plot.yaml"
    params:
        style=config_section("figures", "specialization"),
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
    conda:
        "../../envs/plot.yaml"
    params:
        style=config_section("figures", "raw_metrics"),
    script:
        "../scripts/plot_raw_metrics.py"


rule plot_accuracy:
    """Figure 4: test accuracy of the global models and the share of decisions of sub-network 0."""
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
    conda:
        "../../envs/plot.yaml"
    params:
        style=config_section("figures", "accuracy"),
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
    conda:
        "../../envs/plot.yaml"
    params:
        style=config_section("figures", "modularity"),
    script:
        "../scripts/plot_modularity.py"
