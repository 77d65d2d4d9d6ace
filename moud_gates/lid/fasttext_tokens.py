"""A fastText model's input side: a text's tokens, each token's input rows (its word row and the rows of the
character n-grams of ``<token>``) and a text's averaged input vector (Model::computeHidden).

Each distinct token's row sum and row count are computed once and remembered (``cache_size`` tokens, then
forgotten at once); the n-grams of all unseen tokens of a batch are hashed together with vectorised FNV-1a.
"""

from __future__ import annotations

import itertools

import numpy as np

from moud_gates.lid.fasttext_file import ModelFile

EOS, LABEL_PREFIX = "</s>", "__label__"
_FNV_BASIS, _FNV_PRIME = np.uint32(2166136261), np.uint32(16777619)
_FIRST = np.zeros(1, dtype=np.int64)  # reduceat start of a single text's rows


def _fnv_signed_bytes(a: np.ndarray) -> np.ndarray:
    """Bytes as fastText's hash sees them: ``uint32(int8(byte))`` (sign-extended)."""
    return a.astype(np.int8).astype(np.int32).view(np.uint32)


def split_tokens(texts: list[str]) -> list[list[str]]:
    """fastText's tokens of each line (whitespace and NUL separate; reading stops at </s>)."""
    joined = "".join(texts)
    if "\0" not in joined and EOS not in joined:
        return [t.split() for t in texts]
    out = []
    for text in texts:
        toks = text.replace("\0", " ").split()
        if EOS in toks:
            toks = toks[: toks.index(EOS)]
        out.append(toks)
    return out


class TokenRows:
    """Per token: the sum and the number of its input rows (Dictionary::getSubwords), remembered."""

    def __init__(self, model: ModelFile, cache_size: int = 200_000):
        self.model = model
        self.cache_size = cache_size
        self.index: dict[str, int] = {}  # token -> row of the tables below
        self._sums = np.zeros((1024, model.args.dim), dtype=np.float32)  # per token: sum of its rows
        self._counts = np.zeros(1024, dtype=np.float32)  # ... and how many rows
        self._count_list: list[int] = []  # the same counts, for one text's sum in Python (whole numbers)
        self._add([EOS])

    def _ngram_rows(self, tokens: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """(token index, input row) for every character n-gram of ``<token>`` that has a row
        (Dictionary::computeSubwords + pushHash, vectorised over all tokens)."""
        m = self.model
        a = m.args
        empty = np.zeros(0, np.int64)
        if a.maxn <= 0 or not tokens or (m.pruned and m.bucket_rows is None):
            return empty, empty  # no subwords, or every n-gram was pruned
        wrapped = [b"<" + t + b">" for t in tokens]
        lengths = np.fromiter((len(w) for w in wrapped), dtype=np.int64, count=len(wrapped))
        buf = np.frombuffer(b"".join(wrapped), dtype=np.uint8)
        owner = np.repeat(np.arange(len(tokens)), lengths)
        char_pos = np.flatnonzero((buf & 0xC0) != 0x80)  # byte offset of every character start
        # a character ends where the next one starts: each token's last one ('>') ends at the next '<'
        char_len = np.diff(np.append(char_pos, buf.size))
        char_tok = owner[char_pos]
        n_chars = np.bincount(char_tok, minlength=len(tokens))
        char_idx = np.arange(char_pos.size) - (np.cumsum(n_chars) - n_chars)[char_tok]
        remaining = n_chars[char_tok] - char_idx  # characters from this one to the token's end
        signed = _fnv_signed_bytes(buf)
        h = np.full(char_pos.size, _FNV_BASIS, dtype=np.uint32)
        out_tok, out_row = [], []
        for n in range(1, a.maxn + 1):
            idx = np.flatnonzero(remaining >= n)  # n-grams of n characters starting at character idx
            if idx.size == 0:
                break
            last = idx + n - 1  # their n-th character: hash its bytes on top of the (n-1)-gram's hash
            pos, length, hh = char_pos[last], char_len[last], h[idx]
            for b in range(int(length.max())):
                active = length > b
                step = (hh ^ signed[np.where(active, pos + b, 0)]) * _FNV_PRIME
                hh = np.where(active, step, hh)
            h[idx] = hh
            if n < a.minn:
                continue
            if n == 1:  # fastText skips the lone '<' and '>'
                keep = (char_idx[idx] != 0) & (remaining[idx] != 1)
                idx, hh = idx[keep], hh[keep]
            bucket = (hh % np.uint32(a.bucket)).astype(np.int64)
            if m.bucket_rows is not None:
                rows = m.bucket_rows[bucket].astype(np.int64)
                ok = rows >= 0
                idx, rows = idx[ok], rows[ok]
            else:
                rows = m.nwords + bucket
            out_tok.append(char_tok[idx])
            out_row.append(rows)
        if not out_tok:
            return empty, empty
        return np.concatenate(out_tok), np.concatenate(out_row)

    def _add(self, tokens: list[str]) -> None:
        """Compute and remember the row sum and row count of each token (Dictionary::addSubwords)."""
        base = len(self.index)
        need = base + len(tokens)
        if need > self._sums.shape[0]:
            size = max(need, 2 * self._sums.shape[0])
            self._sums = np.resize(self._sums, (size, self.model.args.dim))
            self._counts = np.resize(self._counts, size)
        raws = [t.encode("utf-8", "surrogatepass") for t in tokens]
        get = self.model.words.get
        wids = np.fromiter((get(r, -1) for r in raws), dtype=np.int64, count=len(raws))
        label = LABEL_PREFIX.encode()
        # subwords for every token but </s> and unknown label tokens (which fastText ignores)
        sub = (
            [i for i, r in enumerate(raws) if r != b"</s>" and (wids[i] >= 0 or not r.startswith(label))]
            if any(r.startswith(label) for r in raws)
            else [i for i, r in enumerate(raws) if r != b"</s>"]
        )
        tok_idx, ngram_rows = self._ngram_rows([raws[i] for i in sub])
        in_vocab = np.flatnonzero(wids >= 0)
        owner = np.concatenate([in_vocab, np.asarray(sub, dtype=np.int64)[tok_idx]])
        rows = np.concatenate([wids[in_vocab], ngram_rows])  # each token: its word row first, as fastText
        order = np.argsort(owner, kind="stable")
        owner, rows = owner[order], rows[order]
        sums = np.zeros((len(tokens), self.model.args.dim), dtype=np.float32)
        if rows.size:
            starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
            sums[owner[starts]] = np.add.reduceat(self.model.input[rows], starts, axis=0)
        counts = np.bincount(owner, minlength=len(tokens)).astype(np.float32)
        self._sums[base:need] = sums
        self._counts[base:need] = counts
        del self._count_list[base:]
        self._count_list.extend(map(int, counts.tolist()))
        self.index.update(zip(tokens, range(base, need), strict=True))

    def _rows_of(self, tokens: list[str]) -> list[int]:
        """Each token's table row, computing the rows of tokens not remembered yet."""
        index = self.index
        missing = [t for t in dict.fromkeys(tokens) if t not in index]
        if missing:
            if len(index) + len(missing) > self.cache_size:  # forget all but </s> (row 0 of the tables)
                self.index = index = {EOS: 0}
                missing = list(dict.fromkeys(tokens))
            self._add(missing)
        return list(map(index.__getitem__, tokens))

    def hidden(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each text's averaged input vector (float32) and its number of input rows (0 rows: fastText
        predicts nothing)."""
        per_text = split_tokens(texts)
        flat = list(itertools.chain.from_iterable(per_text))
        rows = self._rows_of(flat)
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        # each text's token rows followed by </s> (table row 0)
        idx = np.zeros(lengths.sum() + len(per_text), dtype=np.int64)
        idx[np.arange(len(flat)) + np.repeat(np.arange(len(per_text)), lengths)] = rows
        starts = np.cumsum(lengths + 1) - (lengths + 1)
        sums = np.add.reduceat(self._sums[idx], starts, axis=0)
        counts = np.add.reduceat(self._counts[idx], starts)
        return sums / np.maximum(counts, 1.0)[:, None], counts

    def hidden_one(self, text: str) -> tuple[np.ndarray, float]:
        """``hidden([text])`` for one text, without the batch bookkeeping: the same float32 operations (the
        same reduceat over the same rows), so the same vector. Returns (1 x dim vector, number of rows)."""
        tokens = text.split() if "\0" not in text and EOS not in text else split_tokens([text])[0]
        index = self.index
        try:
            idx = [index[t] for t in tokens]
        except KeyError:
            idx = self._rows_of(tokens)
        idx.append(0)  # </s>
        sums = np.add.reduceat(self._sums.take(idx, axis=0), _FIRST, axis=0)
        count = sum(map(self._count_list.__getitem__, idx))  # whole numbers: the float32 sum is exact too
        return sums / max(count, 1), float(count)  # a python int divides as float32
