rule train_model:
    """Train one global model (architecture, p, seed) on the parity task; resumable per epoch."""
    input:
        dataset=rules.prepare_dataset.output[0],
        code=package_code(
            "model",
            "deep_r",
            "training",
            "sparsity",
            "settings",
            "dataset",
            "checkpoint",
        ),
    output:
        model="results/models/{architecture}/p={p}/seed={seed}/model.pt",
        history="results/models/{architecture}/p={p}/seed={seed}/history.csv",
    log:
        "results/logs/train_model/{architecture}/p={p}/seed={seed}.log",
    benchmark:
        "results/benchmarks/train_model/{architecture}/p={p}/seed={seed}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    params:
        resume="results/models/{architecture}/p={p}/seed={seed}/resume.pt",
        data=config["data"],
        model=config["model"],
        training=config["training"],
        deep_r=config["deep_r"],
    script:
        "../scripts/train_model.py"
