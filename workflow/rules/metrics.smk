# Section 3: one job per (metric, p, seed), each reading one trained checkpoint.


rule bottleneck_metric:
    """Retrain the bottleneck readout of each sub-network on each digit (section 3.1): its test
    accuracy (metric bottleneck) and test loss (metric bottleneck_loss)."""
    input:
        model=trained_model_of("bottleneck"),
        dataset=PAIRED_DATASET,
        code=code_of("bottleneck_metric.py"),
    output:
        expand(METRIC_TABLE, metric="bottleneck", allow_missing=True),
    log:
        "results/logs/bottleneck_metric/p={p}/seed={seed}.log",
    benchmark:
        "results/benchmarks/bottleneck_metric/p={p}/seed={seed}.tsv"
    priority: priorities.BY_RULE["bottleneck_metric"]
    group:
        "metrics"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(3),
    params:
        settings=bottleneck_settings(),
        data=config_section("data"),
    script:
        "../scripts/bottleneck_metric.py"


rule weight_mask_metric:
    """Train weight masks on each digit and count the kept weights per sub-network (section 3.2)."""
    input:
        model=trained_model_of("plain"),
        dataset=PAIRED_DATASET,
        q=calibrated_q(),
        code=code_of("weight_mask_metric.py"),
    output:
        expand(METRIC_TABLE, metric="weight_mask", allow_missing=True),
    log:
        "results/logs/weight_mask_metric/p={p}/seed={seed}.log",
    benchmark:
        "results/benchmarks/weight_mask_metric/p={p}/seed={seed}.tsv"
    priority: priorities.BY_RULE["weight_mask_metric"]
    group:
        "metrics"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(3),
    params:
        # with q: auto, the calibration's grid reaches this job only through the chosen q (input)
        settings=mask_settings("q_grid", "min_own_share"),
        data=config_section("data"),
    script:
        "../scripts/weight_mask_metric.py"


rule correlation_metric:
    """Correlate final hidden states of test pairs sharing a digit; CKA variant (section 3.3)."""
    input:
        model=trained_model_of("plain"),
        dataset=PAIRED_DATASET,
        code=code_of("correlation_metric.py"),
    output:
        expand(METRIC_TABLE, metric="correlation", allow_missing=True),
    log:
        "results/logs/correlation_metric/p={p}/seed={seed}.log",
    benchmark:
        "results/benchmarks/correlation_metric/p={p}/seed={seed}.tsv"
    priority: priorities.BY_RULE["correlation_metric"]
    group:
        "metrics"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1500),
        runtime=per_attempt(3),
    params:
        settings=config_section("correlation_metric"),
        data=config_section("data"),
    script:
        "../scripts/correlation_metric.py"
