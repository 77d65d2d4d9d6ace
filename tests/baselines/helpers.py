"""Small fixtures for the baselines tests: MOUD shards / a built dataset folder, XPersona-format files,
a PersonaChat JSON and a tiny BERT for BERTScore (all built in tmp, no Hub access)."""

from __future__ import annotations

import json
from pathlib import Path

from moud_core.schema import example_row

# one turn's persona and history for the candidate-scoring tests
PERSONA = ["J'habite à Lyon.", "J'adore le vélo."]
HISTORY = ["Salut !", "Bonjour, ça va ?", "Tu fais quoi ce week-end ?"]

FR = [
    "Salut, tu vas bien ?",
    "Oui, je rentre du marché.",
    "Qu'as-tu acheté ?",
    "Des fraises et du pain.",
    "J'adore les fraises !",
    "Moi aussi, surtout en été.",
    "Tu fais du vélo ?",
    "Oui, tous les dimanches.",
    "Où habites-tu ?",
    "J'habite à Lyon près de la Saône.",
    "Tu travailles ?",
    "Je suis infirmière.",
    "Tu as un chat ?",
    "Oui, il s'appelle Moka.",
    "Tu aimes le fromage ?",
    "Bien sûr, le comté surtout.",
]
ZH = [
    "你好，你住在哪里？",
    "我住在成都。",
    "你喜欢吃什么？",
    "我喜欢吃火锅。",
    "你是做什么的？",
    "我是一名老师。",
    "周末你做什么？",
    "我喜欢爬山。",
    "你骑自行车吗？",
    "每天骑自行车去学校。",
    "你喝茶吗？",
    "我每天都喝茶。",
]


def moud_rows(language: str, texts: list[str], n_dialogues: int = 6, turns: int = 4) -> list[dict]:
    rows = []
    for d in range(n_dialogues):
        start = "A" if d % 2 == 0 else "B"
        other = "B" if start == "A" else "A"
        picked = [texts[(d * 3 + t) % len(texts)] + f" ({d}.{t})" for t in range(turns)]
        row = example_row(language, d, [(start if t % 2 == 0 else other, x) for t, x in enumerate(picked)])
        row["persona_a"] = [f"Persona A {d}.", "J'aime le vélo."]
        row["persona_b"] = [f"Persona B {d}.", "J'ai un chat."]
        row["split_group"] = f"group-{language}-{d}"
        rows.append(row)
    return rows


def write_moud_shards(root: Path, languages=(("fr", FR), ("zh", ZH)), **kw) -> Path:
    """RUN/shards/<lang>/shard-00000.jsonl."""
    for lang, texts in languages:
        d = root / "shards" / lang
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "shard-00000.jsonl", "w", encoding="utf-8") as fh:
            for row in moud_rows(lang, texts, **kw):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return root


def write_moud_dataset(root: Path, languages=(("fr", FR), ("zh", ZH)), **kw) -> Path:
    """A built-dataset-like folder: data/<lang>/<split>-00000-of-00001.parquet in the dataset's schema +
    README configs (for load_dataset); the first half of each language's rows is train, the rest test."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from moud_core.dataset_layout import data_file_name
    from moud_dataset.features import arrow_schema

    card = ["---", "configs:"]
    for lang, texts in languages:
        rows = moud_rows(lang, texts, **kw)
        card += [f"- config_name: {lang}", "  data_files:"]
        for split, part in (("train", rows[: len(rows) // 2]), ("test", rows[len(rows) // 2 :])):
            d = root / "data" / lang
            d.mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pylist(part, schema=arrow_schema())
            pq.write_table(table, d / data_file_name(split, 0, 1))
            card += [f"  - split: {split}", f"    path: data/{lang}/{split}-*.parquet"]
    card += ["---", "", "# test dataset", ""]
    (root / "README.md").write_text("\n".join(card), encoding="utf-8")
    return root


def write_xpersona(
    root: Path,
    prefix: str = "Fr",
    split_name: str = "split_test_human_annotated",
    texts: list[str] = FR,
    n_dialogues: int = 6,
    pairs: int = 3,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    data = []
    for d in range(n_dialogues):
        utts = [texts[(d * 5 + i) % len(texts)] + f" [{d}.{i}]" for i in range(2 * pairs)]
        data.append(
            {
                "persona": [f"Je suis la persona {d}.", "J'aime le thé."],
                "dialogue": [[utts[2 * i], utts[2 * i + 1]] for i in range(pairs)],
            }
        )
    path = root / f"{prefix}_persona_{split_name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def write_xpersona_fr_zh(root: Path) -> Path:
    """An XPersona folder with French train (6 dialogues x 3 pairs) and French and Chinese test files (6
    dialogues x 2 pairs each: 12 turns per language)."""
    write_xpersona(root, "Fr", "train_corrected", n_dialogues=6)
    write_xpersona(root, "Fr", n_dialogues=6, pairs=2)
    write_xpersona(root, "Zh", texts=ZH, n_dialogues=6, pairs=2)
    return root


def write_personachat(path: Path, n_dialogues: int = 3) -> Path:
    def dlg(d):
        return {
            "personality": [f"i am person {d} .", "i like tea ."],
            "utterances": [
                {
                    "history": [f"hi {d}"] if t == 0 else [f"hi {d}", f"hello {d}", f"how are you {t}"],
                    "candidates": [f"wrong {d}.{t}.{k}" for k in range(4)] + [f"gold {d}.{t}"],
                }
                for t in range(2)
            ],
        }

    path.write_text(
        json.dumps(
            {
                "train": [dlg(d) for d in range(n_dialogues)],
                "valid": [dlg(d + 10) for d in range(n_dialogues)],
            }
        ),
        encoding="utf-8",
    )
    return path


def make_tiny_bert(directory: Path) -> Path:
    """A 2-layer BERT with a WordPiece tokenizer trained on a few sentences (for BERTScore)."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from benchmarks.tiny_models import CORPUS

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        CORPUS + FR + ZH, trainers.WordPieceTrainer(vocab_size=400, special_tokens=special)
    )
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    torch.manual_seed(0)
    model = BertModel(
        BertConfig(
            vocab_size=len(hf),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=128,
        )
    )
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    hf.save_pretrained(directory)
    return directory
