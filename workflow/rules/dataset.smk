rule prepare_dataset:
    """Pair every MNIST sample with a partner, drop the excluded pairs, write one HDF5 file."""
    input:
        code=package_code("mnist", "task", "dataset", "atomic"),
    output:
        "results/data/paired_mnist.h5",
    log:
        "results/logs/prepare_dataset.log",
    benchmark:
        "results/benchmarks/prepare_dataset.tsv"
    conda:
        "../../envs/torch.yaml"
    params:
        mnist_root=config["mnist_root"],
        download=config["mnist_download"],
        seed=config["data"]["seed"],
    script:
        "../scripts/prepare_dataset.py"
