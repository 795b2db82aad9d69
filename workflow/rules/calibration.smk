# Section 3.2: "We chose q to be as high as possible while ensuring M(n, n) = 1 in the most
# extreme case of sparsity". The same sweeps also serve the sensitivity target.


rule mask_sweep:
    """The weight-mask metric at every q of the grid on one plain model (one score initialisation)."""
    input:
        model=trained_model_of("plain"),
        dataset=PAIRED_DATASET,
        code=code_of("mask_sweep.py"),
    output:
        MASK_SWEEP_TABLE,
    log:
        "results/logs/mask_sweep/{score_init}/p={p}/seed={seed}.log",
    benchmark:
        "results/benchmarks/mask_sweep/{score_init}/p={p}/seed={seed}.tsv"
    priority: priorities.BY_RULE["mask_sweep"]
    group:
        "sweeps"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(5),
    params:
        settings=mask_settings(
            "q", "min_own_share", "score_init", "trials", "supermask_control"
        ),
        data=config_section("data"),
    script:
        "../scripts/mask_sweep.py"


rule calibrate_mask_q:
    """Choose q: the largest of the grid whose M(n, n) >= min_own_share at the sparsest p (else the
    closest)."""
    input:
        sweeps=calibration_sweeps(),
        code=code_of("calibrate_mask_q.py"),
    output:
        report(
            CHOSEN_MASK_Q,
            caption="../report/calibration.rst",
            category="Tables",
        ),
    log:
        "results/logs/calibrate_mask_q.log",
    benchmark:
        "results/benchmarks/calibrate_mask_q.tsv"
    priority: priorities.BY_RULE["calibrate_mask_q"]
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        min_own_share=config_section("weight_mask_metric", "min_own_share"),
        sparse_owner=config_section("weight_mask_metric", "sparse_owner"),
    script:
        "../scripts/calibrate_mask_q.py"
