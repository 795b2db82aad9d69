rule train_model:
    """Train one global model (architecture, p, seed) on the parity task; resumable per epoch."""
    input:
        dataset=PAIRED_DATASET,
        code=code_of("train_model.py"),
    output:
        model=TRAINED_MODEL,
        history=TRAINING_HISTORY,
    log:
        "results/logs/train_model/{architecture}/p={p}/seed={seed}.log",
    benchmark:
        "results/benchmarks/train_model/{architecture}/p={p}/seed={seed}.tsv"
    priority: training_priority
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1 if config["device"] == "cuda" else 0,
        mem_mb=per_attempt(2000),
        runtime=per_attempt(15),  # up to max_epochs (60) at paper scale: a few minutes
    params:
        data=config_section("data"),
        model=config_section("model"),
        training=config_section("training"),
        deep_r=config_section("deep_r"),
        device=config_section("device"),
    script:
        "../scripts/train_model.py"
