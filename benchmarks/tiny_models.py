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
    """A byte-level BPE tokenizer wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["<pad>", "<s>", "</s>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="<|end|>", pad_token="<pad>", unk_token="<unk>"
    )
    hf.chat_template = CHAT_TEMPLATE
    return hf


def _save_tiny(directory: str | Path, seed: int, build) -> Path:
    """Train the tokenizer, seed torch, ``build(tok, ids)`` the model (``ids``: vocabulary size and special
    token ids for its config) and save both to ``directory``."""
    import torch

    directory = Path(directory)
    tok = train_tokenizer()
    torch.manual_seed(seed)
    ids = {
        "vocab_size": len(tok),
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }
    model = build(tok, ids)
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def make_tiny_llama_chat(directory: str | Path, seed: int = 0) -> Path:
    """~2-layer Llama chat model with a chat template, saved to ``directory``."""

    def build(tok, ids):
        from transformers import LlamaConfig, LlamaForCausalLM

        config = LlamaConfig(
            **ids,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            tie_word_embeddings=True,
        )
        model = LlamaForCausalLM(config)
        model.generation_config.pad_token_id = tok.pad_token_id
        model.generation_config.eos_token_id = tok.eos_token_id
        return model

    return _save_tiny(directory, seed, build)


def make_bloom(
    directory: str | Path, hidden: int, layers: int, heads: int, vocab_size: int | None = None, seed: int = 0
) -> Path:
    """A random-init BLOOM of the given shape with the trained tokenizer, saved to ``directory``;
    ``vocab_size`` pads the vocabulary (e.g. 250,880 for BLOOM-560M's; the tokenizer uses the first ids)."""

    def build(tok, ids):
        from transformers import BloomConfig, BloomForCausalLM

        ids = {**ids, "vocab_size": vocab_size or ids["vocab_size"]}
        return BloomForCausalLM(BloomConfig(**ids, hidden_size=hidden, n_layer=layers, n_head=heads))

    return _save_tiny(directory, seed, build)


def make_tiny_bloom(directory: str | Path, seed: int = 0) -> Path:
    """~2-layer BLOOM causal LM with a trained tokenizer, saved to ``directory``."""
    return make_bloom(directory, hidden=64, layers=2, heads=4, seed=seed)
