"""The pieces ``transformers.Trainer`` needs for the multitask baseline: a lazily encoded dataset of
instances with candidates, the collator that pads them, and a Trainer subclass that saves and resumes the
multitask model (adapter or full weights, with the classification head)."""

from __future__ import annotations


class MultitaskDataset:
    """Instances with candidates -> token features, encoded lazily."""

    def __init__(self, instances, encoder):
        self.instances, self.encoder = instances, encoder

    def __len__(self):
        return len(self.instances)

    def __getitem__(self, i):
        inst = self.instances[i]
        prefix, suffixes = self.encoder.encode(inst.persona, inst.history, inst.candidates)
        seqs = [prefix + s for s in suffixes]
        gold = seqs[inst.label]
        labels = [-100] * len(prefix) + suffixes[inst.label]
        assert len(labels) == len(gold)
        return {"seqs": seqs, "lm_labels": labels, "mc_label": inst.label}


def collate(features: list[dict], pad_id: int):
    import torch

    b, c = len(features), len(features[0]["seqs"])
    width = max(len(s) for f in features for s in f["seqs"])
    ids = torch.full((b, c, width), pad_id, dtype=torch.long)
    mask = torch.zeros((b, c, width), dtype=torch.long)
    labels = torch.full((b, width), -100, dtype=torch.long)
    last = torch.zeros((b, c), dtype=torch.long)
    for i, f in enumerate(features):
        for j, s in enumerate(f["seqs"]):
            ids[i, j, : len(s)] = torch.tensor(s)
            mask[i, j, : len(s)] = 1
            last[i, j] = len(s) - 1
        labels[i, : len(f["lm_labels"])] = torch.tensor(f["lm_labels"])
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "lm_labels": labels,
        "mc_token_ids": last,
        "mc_labels": torch.tensor([f["mc_label"] for f in features], dtype=torch.long),
    }


def trainer_class():
    from transformers import Trainer

    class MultitaskTrainer(Trainer):
        """Saves/loads the multitask model (adapter or full weights + head) in checkpoints."""

        tokens_seen = 0
        _task_sums: dict | None = None

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            self.tokens_seen += int(inputs["attention_mask"].sum())
            out = model(**inputs)
            if model.training:  # each task's loss, averaged over the batches between two logs
                sums = self._task_sums = self._task_sums or {"lm_loss": 0.0, "mc_loss": 0.0, "n": 0}
                sums["lm_loss"] += out["lm_loss"]  # detached tensors: no device sync per step
                sums["mc_loss"] += out["mc_loss"]
                sums["n"] += 1
            return (out["loss"], out) if return_outputs else out["loss"]

        def pending_task_losses(self) -> dict | None:
            """Each task's mean loss over the batches since the last log (None when there were none)."""
            sums = self._task_sums
            if not sums or not sums["n"]:
                return None
            n, step = sums["n"], self.state.global_step
            return {
                "step": step,
                "lm_loss": float(sums["lm_loss"]) / n,
                "mc_loss": float(sums["mc_loss"]) / n,
            }

        def log(self, logs, *args, **kwargs):
            sums = self._task_sums
            if "loss" in logs and sums and sums["n"]:
                n = sums["n"]
                logs = {**logs, "lm_loss": float(sums["lm_loss"]) / n, "mc_loss": float(sums["mc_loss"]) / n}
                self._task_sums = None
            return super().log(logs, *args, **kwargs)

        def _save(self, output_dir=None, state_dict=None):
            output_dir = output_dir or self.args.output_dir
            self.accelerator.unwrap_model(self.model).save(
                output_dir, self.processing_class, export="adapter"
            )

        def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
            (model or self.model).load_weights(resume_from_checkpoint)

    return MultitaskTrainer


def precision_args(name: str) -> dict:
    import torch

    if name == "fp32" or (name == "auto" and not torch.cuda.is_available()):
        return {}
    if name == "bf16" or (name == "auto" and torch.cuda.is_bf16_supported()):
        return {"bf16": True}
    return {"fp16": True}


# TrainingArguments field -> training config key
_ARGUMENTS = {
    "per_device_train_batch_size": "batch_size", "gradient_accumulation_steps": "grad_accum",
    "learning_rate": "learning_rate", "num_train_epochs": "epochs", "max_steps": "max_steps",
    "warmup_steps": "warmup_steps", "weight_decay": "weight_decay", "logging_steps": "logging_steps",
    "save_steps": "save_steps", "save_total_limit": "save_total_limit", "seed": "seed", "data_seed": "seed",
}  # fmt: skip


def training_arguments(cfg: dict, out, quiet: bool):
    """``transformers.TrainingArguments`` from a resolved training config."""
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(out),
        **{arg: cfg[key] for arg, key in _ARGUMENTS.items()},
        report_to="none",
        remove_unused_columns=False,
        disable_tqdm=quiet,
        label_names=["mc_labels"],
        activation_checkpointing=bool(cfg["gradient_checkpointing"]),
        save_only_model=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        **precision_args(cfg["precision"]),
    )
