"""Tiny models built on the fly for tests and benchmarks (no Hub access): a Llama-architecture chat model and
BLOOM models, each with a byte-level BPE tokenizer trained on the fly, saved to a folder and loadable with
``from_pretrained``."""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

CORPUS = [
    "Bonjour, je m'appelle Camille et j'habite à Lyon près de la Saône.",
    "J'adore les croissants, le fromage et le vélo le dimanche matin.",
    "Je travaille comme infirmière à l'hôpital Édouard-Herriot.",
    "Hallo, ich wohne in Hamburg und spiele gern Fußball mit meinen Freunden.",
    "你好，我叫李明，我住在成都，我喜欢吃火锅和喝茶。",
    "我是一名老师，每天骑自行车去学校。周末我喜欢爬山。",
    "こんにちは、私は大阪に住んでいます。たこ焼きが大好きです。",
    "안녕하세요, 저는 서울에 살고 있어요. 김치찌개를 좋아해요.",
    "Привет, я живу в Казани и люблю играть в шахматы.",
    "مرحبا، أنا أعيش في القاهرة وأحب كرة القدم.",
    "नमस्ते, मैं दिल्ली में रहता हूँ और मुझे क्रिकेट पसंद है।",
    "Hello, I live in Leeds and I like tea. Persona: 1. I am a nurse.",
] * 20


def train_tokenizer(vocab_size: int = 600):
    """A byte-level BPE tokenizer trained on ``CORPUS`` (``baselines.tiny``, as ``moud train --model tiny-*``
    does on a run's own text), with a chat template."""
    from baselines.tiny import train_tokenizer as train

    return train(CORPUS, vocab_size, CHAT_TEMPLATE)


def _save_tiny(directory: str | Path, seed: int, name: str) -> Path:
    """Train the tokenizer, seed torch, build tiny model ``name`` of ``baselines/data/tiny_models.yaml`` and
    save both to ``directory``."""
    from baselines.tiny import tiny_spec

    spec = tiny_spec(name)
    return _save(directory, seed, spec["architecture"], spec["config"])


def make_tiny_llama_chat(directory: str | Path, seed: int = 0) -> Path:
    """~2-layer Llama chat model with a chat template, saved to ``directory``."""
    return _save_tiny(directory, seed, "tiny-llama")


def _save(directory: str | Path, seed: int, architecture: str, config: dict) -> Path:
    """Train the tokenizer, seed torch, build a model of ``architecture`` with ``config`` (``baselines.tiny``)
    and save both to ``directory``."""
    import torch

    from baselines.tiny import build_tiny

    directory = Path(directory)
    tok = train_tokenizer()
    torch.manual_seed(seed)
    model = build_tiny(architecture, tok, config)
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def make_bloom(
    directory: str | Path, hidden: int, layers: int, heads: int, vocab_size: int | None = None, seed: int = 0
) -> Path:
    """A random-init BLOOM of the given shape with the trained tokenizer, saved to ``directory``;
    ``vocab_size`` pads the vocabulary (e.g. 250,880 for BLOOM-560M's; the tokenizer uses the first ids)."""
    config = {"hidden_size": hidden, "n_layer": layers, "n_head": heads}
    if vocab_size:
        config["vocab_size"] = vocab_size
    return _save(directory, seed, "bloom", config)


def make_tiny_bloom(directory: str | Path, seed: int = 0) -> Path:
    """~2-layer BLOOM causal LM with a trained tokenizer, saved to ``directory``."""
    return _save_tiny(directory, seed, "tiny-bloom")
