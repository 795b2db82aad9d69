# Named variants of the study (config["variants"]): each is the whole study of workflow/study.smk,
# loaded as a snakemake module with its merged config and its results under results/variants/<name>/,
# so caching, resume, SLURM and staleness work per variant as for the paper study.
# `snakemake --cores all variants` runs every variant and draws each comparison.

from extreme_sparsity import variants as study_variants

try:
    VARIANT_CONFIGS = study_variants.variant_configs(config)
    COMPARISONS = study_variants.comparisons(config)
    SHARED_MODELS = study_variants.shared_models(config, VARIANT_CONFIGS)
    COPIED_RULES = study_variants.copied_rules(VARIANT_CONFIGS, SHARED_MODELS)
    SHARED_DATA = study_variants.shared_data(VARIANT_CONFIGS)
except ValueError as error:
    raise WorkflowError(f"Invalid configuration, nothing was run: {error}") from None

for variant_name, variant_config in VARIANT_CONFIGS.items():
    try:
        validate(variant_config, schema=SCHEMA)
    except WorkflowError:
        raise WorkflowError(
            f"Invalid configuration of variant {variant_name!r} (variants.studies.{variant_name} "
            "merged onto the base config and variants.common), nothing was run:\n  "
            + "\n  ".join(config_errors(variant_config, SCHEMA))
        ) from None
    workflow.module(
        variant_name,
        snakefile="../study.smk",
        config=variant_config,
        replace_prefix={RESULTS: variant_results(variant_name)},
    )
    variant_rules = f"{variant_name}_*"

    if variant_name in COPIED_RULES:

        use rule * from variant_name exclude prepare_dataset, train_model, bottleneck_metric, correlation_metric, weight_mask_metric, mask_sweep as variant_rules

    else:

        use rule * from variant_name exclude prepare_dataset as variant_rules


# Each distinct data set is prepared by the first variant that reads it; the others link that file
# (study_variants.shared_data): one preparation and one copy on disk (0.4 GB at paper scale) each.
for variant_name in [name for name in VARIANT_CONFIGS if name not in SHARED_DATA]:
    variant_rules = f"{variant_name}_*"

    use rule prepare_dataset from variant_name as variant_rules


# A variant that reuses another's models (variants.shared_models) copies them, and the results of
# every per-model metric rule whose settings the two share (study_variants.copied_rules); it runs
# the others itself. `use rule` takes a literal rule name, hence one loop per metric rule (and the
# exclude list above) for the rules of study_variants.METRIC_RULE_SECTIONS.
for variant_name in study_variants.computing(COPIED_RULES, "bottleneck_metric"):
    variant_rules = f"{variant_name}_*"

    use rule bottleneck_metric from variant_name as variant_rules


for variant_name in study_variants.computing(COPIED_RULES, "correlation_metric"):
    variant_rules = f"{variant_name}_*"

    use rule correlation_metric from variant_name as variant_rules


for variant_name in study_variants.computing(COPIED_RULES, "weight_mask_metric"):
    variant_rules = f"{variant_name}_*"

    use rule weight_mask_metric from variant_name as variant_rules


for variant_name in study_variants.computing(COPIED_RULES, "mask_sweep"):
    variant_rules = f"{variant_name}_*"

    use rule mask_sweep from variant_name as variant_rules


for variant_name, copied_rule, source_variant in study_variants.result_sources(
    COPIED_RULES, SHARED_MODELS, SHARED_DATA
):

    rule:
        """A result of another variant, copied (the data set linked): the same settings would
        compute the same file."""
        name:
            f"{variant_name}_{copied_rule}"
        input:
            sources=[
                variant_result(source_variant, path)
                for path in getattr(rules, copied_rule).output
            ],
            code=code_of("copy_results.py"),
        output:
            [
                variant_result(variant_name, path)
                for path in getattr(rules, copied_rule).output
            ],
        log:
            variant_result(variant_name, getattr(rules, copied_rule).log[0]),
        benchmark:
            variant_result(variant_name, getattr(rules, copied_rule).benchmark)
        conda:
            "../../envs/torch.yaml"
        threads: 1
        resources:
            mem_mb=per_attempt(1000),
            runtime=per_attempt(5),
        params:
            link=copied_rule == "prepare_dataset",
        script:
            "../scripts/copy_results.py"


rule compare_variants:
    """The variants of one comparison in three tables: every model's metrics, every model's
    training, and every variant's claims, each with a ``variant`` column."""
    input:
        metrics=results_of_variants(rules.aggregate_metrics.output.table),
        training=results_of_variants(rules.summarize_training.output.kept),
        claims=results_of_variants(rules.check_claims.output[0]),
        code=code_of("compare_variants.py"),
    output:
        metrics="results/comparisons/{comparison}/metrics.csv",
        training="results/comparisons/{comparison}/training.csv",
        summary=report(
            "results/comparisons/{comparison}/summary.csv",
            caption="../report/variant_summary.rst",
            category="Variants",
            subcategory="{comparison}",
        ),
        claims=report(
            "results/comparisons/{comparison}/claims.csv",
            caption="../report/variant_claims.rst",
            category="Variants",
            subcategory="{comparison}",
        ),
    log:
        "results/logs/compare_variants/{comparison}.log",
    benchmark:
        "results/benchmarks/compare_variants/{comparison}.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        variants=lambda wildcards: COMPARISONS[wildcards.comparison],
        exclude_poor_models=lambda wildcards: [
            VARIANT_CONFIGS[variant]["performance"]["exclude_poor_models"]
            for variant in COMPARISONS[wildcards.comparison]
        ],
    script:
        "../scripts/compare_variants.py"


rule plot_variant_comparison:
    """Specialization of each sub-network against p, and the global models' accuracy against p,
    one line per variant (mean ± sd over seeds)."""
    input:
        metrics=rules.compare_variants.output.metrics,
        training=rules.compare_variants.output.training,
        code=code_of("plot_variant_comparison.py"),
    output:
        specialization=report(
            "results/comparisons/{comparison}/specialization.png",
            caption="../report/variant_specialization.rst",
            category="Variants",
            subcategory="{comparison}",
        ),
        specialization_pdf="results/comparisons/{comparison}/specialization.pdf",
        accuracy=report(
            "results/comparisons/{comparison}/accuracy.png",
            caption="../report/variant_accuracy.rst",
            category="Variants",
            subcategory="{comparison}",
        ),
        accuracy_pdf="results/comparisons/{comparison}/accuracy.pdf",
    log:
        "results/logs/plot_variant_comparison/{comparison}.log",
    benchmark:
        "results/benchmarks/plot_variant_comparison/{comparison}.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        variants=lambda wildcards: COMPARISONS[wildcards.comparison],
        min_accuracy=config_section("performance", "min_accuracy"),
        specialization_style=config_section("figures", "variant_specialization"),
        accuracy_style=config_section("figures", "variant_accuracy"),
    script:
        "../scripts/plot_variant_comparison.py"


rule variants:
    """Every variant's whole study and every comparison's tables and figures."""
    input:
        [getattr(rules, f"{variant}_study").input for variant in VARIANT_CONFIGS],
        expand(
            rules.plot_variant_comparison.output,
            comparison=COMPARISONS,
        ),
        expand(rules.compare_variants.output, comparison=COMPARISONS),
