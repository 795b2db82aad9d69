# Specialization over time (config["time_course"], off by default): the correlation and bottleneck
# metrics on the states h_t of every step t = 1..T, in their own tables and one figure.


rule time_course_metric:
    """One metric of one model on the states of every step t (the bottleneck readouts retrained on
    each b_t)."""
    input:
        model=lambda wildcards: trained_model(
            architecture_of(wildcards.metric), wildcards.p, wildcards.seed
        ),
        dataset=PAIRED_DATASET,
        code=code_of("time_course_metric.py"),
    output:
        TIME_COURSE_TABLE,
    log:
        "results/logs/time_course_metric/{metric}/p={p}/seed={seed}.log",
    benchmark:
        "results/benchmarks/time_course_metric/{metric}/p={p}/seed={seed}.tsv"
    wildcard_constraints:
        metric=allowed_by_schema("time_course", "metrics"),
    priority: priorities.BY_RULE["time_course_metric"]
    group:
        "metrics"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(5),
    params:
        settings=metric_settings,
        data=config_section("data"),
    script:
        "../scripts/time_course_metric.py"


rule aggregate_time_course:
    """Every model's M_spec(n) at every step t, and its mean ± sd over seeds."""
    input:
        tables=time_course_tables(),
        training=rules.summarize_training.output.kept,
        code=code_of("aggregate_time_course.py"),
    output:
        table="results/aggregate/time_course.csv",
        summary=report(
            "results/aggregate/time_course_summary.csv",
            caption="../report/time_course_summary.rst",
            category="Tables",
        ),
    log:
        "results/logs/aggregate_time_course.log",
    benchmark:
        "results/benchmarks/aggregate_time_course.tsv"
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
        "../scripts/aggregate_time_course.py"


rule plot_time_course:
    """M_spec(n) against the step t, one line per p, for each time-resolved metric."""
    input:
        table=rules.aggregate_time_course.output.table,
        code=code_of("plot_time_course.py"),
    output:
        png=report(
            "results/figures/time_course.png",
            caption="../report/time_course.rst",
            category="Figures",
        ),
        pdf="results/figures/time_course.pdf",
    log:
        "results/logs/plot_time_course.log",
    benchmark:
        "results/benchmarks/plot_time_course.tsv"
    group:
        "summary"
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        style=config_section("figures", "time_course"),
        exclude_poor_models=config_section("performance", "exclude_poor_models"),
    script:
        "../scripts/plot_time_course.py"
