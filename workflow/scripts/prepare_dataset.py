"""Rule prepare_dataset: MNIST -> the paired-digit HDF5 file (train, validation and test, inputs normalised)."""

from extreme_sparsity import dataset, mnist
from extreme_sparsity.plumbing import jobs

with jobs.job(snakemake.log[0]) as log:
    params = snakemake.params
    # Where MNIST lies is not a parameter of the result (the files are checksummed): read it
    # from the config so that moving MNIST does not rerun the whole study.
    files = mnist.ensure_files(snakemake.config["mnist_root"], snakemake.config["mnist_download"])
    data = {key: params[key] for key in ("seed", "validation_images", "mean", "std")}
    splits, task = dataset.write_study_data(snakemake.output[0], files, data, params.task)
    for split, arrays in splits.items():
        log(f"{split}: kept {len(arrays['target'])} pairs (task bits = {task.name}, exclude_pairs = {task.exclude_pairs})")
