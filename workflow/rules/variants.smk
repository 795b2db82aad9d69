# Named variants of the study (config["variants"]): each is the whole study of workflow/study.smk,
# loaded as a snakemake module with its merged config and its results under results/variants/<name>/,
# so caching, resume, SLURM and staleness work per variant as for the paper study.
# `snakemake --cores all variants` runs every variant and draws each comparison.

from extreme_sparsity import variants as study_variants

try:
    VARIANT_CONFIGS = study_variants.variant_configs(config)
    COMPARISONS = study_variants.comparisons(config)
    SHARED_MODELS = study_variants.shared_models(config, VARIANT_CONFIGS)
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

    if variant_name in SHARED_MODELS:

        use rule * from variant_name exclude train_model as variant_rules
    
        rule:
            """Reuse another variant's trained model: a copy of its checkpoint and history."""
            name:
                f"{variant_name}_train_model"
            input:
                model=variant_result(SHARED_MODELS[variant_name], TRAINED_MODEL),
                history=variant_result(SHARED_MODELS[variant_name], TRAINING_HISTORY),
                code=code_of("copy_models.py"),
            output:
                model=variant_result(variant_name, TRAINED_MODEL),
                history=variant_result(variant_name, TRAINING_HISTORY),
            log:
                variant_result(variant_name, rules.train_model.log[0]),
            benchmark:
                variant_result(variant_name, rules.train_model.benchmark)
            conda:
                "../../envs/torch.yaml"
            threads: 1
            resources:
                mem_mb=per_attempt(1000),
                runtime=per_attempt(5),
            script:
                "../scripts/copy_models.py"

    else:

        use rule * from variant_name as variant_rules


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
