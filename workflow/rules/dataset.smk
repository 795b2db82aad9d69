rule prepare_dataset:
    """Hold out validation images, pair every MNIST sample with a partner, drop the excluded pairs
    (unless task.exclude_pairs is false), store the normalised inputs."""
    input:
        code=code_of("prepare_dataset.py"),
    output:
        PAIRED_DATASET,
    log:
        "results/logs/prepare_dataset.log",
    benchmark:
        "results/benchmarks/prepare_dataset.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    params:
        seed=config_section("data", "seed"),
        validation_images=config_section("data", "validation_images"),
        mean=config_section("data", "mean"),
        std=config_section("data", "std"),
        task=config_section("task"),
    script:
        "../scripts/prepare_dataset.py"
