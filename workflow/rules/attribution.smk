# Which protocol choices make the paper's Figure 2 (config["attribution"]; docs/fidelity.md):
# every cell is a variant (workflow/rules/variants.smk), a factor the paired difference of two.
# `snakemake --cores all --configfile config/attribution.yaml attribution`

try:
    ATTRIBUTION = study_variants.attribution_settings(config, VARIANT_CONFIGS)
except ValueError as error:
    raise WorkflowError(f"Invalid configuration, nothing was run: {error}") from None


rule attribution_tables:
    """Per cell and metric S(1/N^2), S(1), the rise, the share of models that perform well and the
    mean test accuracy at 1/N^2; each factor's paired effect with a bootstrap interval over seeds.
    """
    input:
        metrics=[
            variant_result(cell, rules.aggregate_metrics.output.table)
            for cell in VARIANT_CONFIGS
        ],
        training=[
            variant_result(cell, rules.summarize_training.output.kept)
            for cell in VARIANT_CONFIGS
        ],
        code=code_of("attribution_tables.py"),
    output:
        table=report(
            "results/attribution/table.csv",
            caption="../report/attribution_table.rst",
            category="Attribution",
        ),
        effects=report(
            "results/attribution/effects.csv",
            caption="../report/attribution_effects.rst",
            category="Attribution",
        ),
    log:
        "results/logs/attribution_tables.log",
    benchmark:
        "results/benchmarks/attribution_tables.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        cells=list(VARIANT_CONFIGS),
        exclude_poor_models=[
            cell_config["performance"]["exclude_poor_models"]
            for cell_config in VARIANT_CONFIGS.values()
        ],
        factors=ATTRIBUTION["factors"],
        claims=config_section("claims"),
    script:
        "../scripts/attribution_tables.py"


rule plot_attribution:
    """S against p, one panel per metric, one line per cell; the defaults and the paper bold."""
    input:
        metrics=rules.attribution_tables.input.metrics,
        code=code_of("plot_attribution.py"),
    output:
        figure=report(
            "results/attribution/specialization.png",
            caption="../report/attribution_figure.rst",
            category="Attribution",
        ),
        figure_pdf="results/attribution/specialization.pdf",
    log:
        "results/logs/plot_attribution.log",
    benchmark:
        "results/benchmarks/plot_attribution.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        cells=list(VARIANT_CONFIGS),
        exclude_poor_models=rules.attribution_tables.params.exclude_poor_models,
        reference=ATTRIBUTION["reference"],
        paper=ATTRIBUTION["paper"],
        style=config_section("figures", "attribution"),
    script:
        "../scripts/plot_attribution.py"


rule attribution:
    """Every cell's tables and claims, the comparisons' stacked tables, the attribution tables and
    figure. (Each cell's own figures: the `variants` target with the same config.)"""
    input:
        [
            variant_result(cell, rules.aggregate_metrics.output.summary)
            for cell in VARIANT_CONFIGS
        ],
        [variant_result(cell, rules.check_claims.output[0]) for cell in VARIANT_CONFIGS],
        expand(rules.compare_variants.output, comparison=COMPARISONS),
        rules.attribution_tables.output,
        rules.plot_attribution.output,
