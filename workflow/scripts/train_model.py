"""Rule train_model: train one (architecture, p, seed) and write its checkpoint and per-epoch log."""

from dataclasses import asdict
from pathlib import Path

from extreme_sparsity import dataset, training
from extreme_sparsity.plumbing import checkpoint, code_inputs, jobs, settings
from extreme_sparsity.plumbing.atomic import write_csv_rows
from extreme_sparsity.plumbing.versions import software_versions

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w, params = snakemake.wildcards, snakemake.params
    config = {"model": params.model, "training": params.training, "deep_r": params.deep_r}
    model_config = settings.model_config(config, w.architecture, float(w.p))
    training_config = settings.training_config(config, w.architecture, float(w.p), int(w.seed))
    log(f"{w.architecture} p={w.p} seed={w.seed}: K={model_config.n_active} connections per direction, {training_config}")
    splits = dataset.load_splits(snakemake.input.dataset, params.data["mean"], params.data["std"], *dataset.SPLITS)
    # Beside the checkpoint, so that a variant's resume file lives in its own results folder.
    resume = Path(snakemake.output.model).with_name("resume.pt")
    # A resume file is continued only by a run of the same settings, data and training code.
    identity = training.run_identity(
        model_config, training_config,
        data={"settings": params.data, "file": dataset.attributes(snakemake.input.dataset)},
        code=code_inputs.digest(snakemake.input.code),
    )
    result = training.train(model_config, training_config, *splits, resume, identity, log=log, device=params.device)

    identity = {"architecture": w.architecture, "p": float(w.p), "seed": int(w.seed)}
    history = [
        {**identity, **asdict(record), "selected": record.epoch == result.selected_epoch, "stop_reason": result.stop_reason}
        for record in result.history
    ]
    selected = result.history[result.selected_epoch - 1]
    log(
        f"kept epoch {result.selected_epoch}: validation accuracy {selected.validation_accuracy:.4f}, "
        f"validation loss {selected.validation_loss:.4f}, "
        f"test accuracy {selected.test_accuracy:.4f}"
    )
    metadata = {
        "training_config": asdict(training_config),
        "selected_epoch": result.selected_epoch,
        "stop_reason": result.stop_reason,
        "validation_accuracy": float(selected.validation_accuracy),
        "test_accuracy": float(selected.test_accuracy),
        "versions": software_versions(),
    }
    write_csv_rows(snakemake.output.history, history)
    checkpoint.save_model(snakemake.output.model, result.model, metadata)
    resume.unlink(missing_ok=True)
