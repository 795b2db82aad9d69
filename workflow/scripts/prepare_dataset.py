"""Rule prepare_dataset: MNIST -> the paired-digit HDF5 file (train, validation and test, inputs normalised)."""

from extreme_sparsity import dataset, jobs, mnist, task

with jobs.job(snakemake.log[0]) as log:
    params = snakemake.params
    bandwidth_task = task.task_for(params.task["bits"], params.task["exclude_pairs"])
    # Where MNIST lies is not a parameter of the result (the files are checksummed): read it
    # from the config so that moving MNIST does not rerun the whole study.
    files = mnist.ensure_files(snakemake.config["mnist_root"], snakemake.config["mnist_download"])
    splits = dataset.pair_mnist(files, params.seed, params.validation_images, task=bandwidth_task)
    for split, arrays in splits.items():
        log(f"{split}: kept {len(arrays['target'])} pairs (task bits = {bandwidth_task.name}, "
            f"exclude_pairs = {bandwidth_task.exclude_pairs})")
    attributes = {"data_seed": params.seed, "validation_images": params.validation_images}
    attributes.update({f"sha256:{name}": mnist.file_digest(path, "sha256") for name, path in files.items()})
    dataset.write(snakemake.output[0], splits, attributes, task=bandwidth_task, mean=params.mean, std=params.std)
