"""Byte-level BPE tokenizers (GPT-2's) through HF `tokenizers`: a tokenizer.json, or
vocab.json + merges.txt."""

from __future__ import annotations

import os

from ptir.errors import PtirError

END_OF_TEXT = "<|endoftext|>"


class Tokenizer:
    def __init__(self, tok):
        self.tok = tok
        self.eos_id = tok.token_to_id(END_OF_TEXT)   # None when the vocabulary has no such token

    @classmethod
    def load(cls, path=None, vocab=None, merges=None) -> Tokenizer:
        """From a tokenizer.json (`path`) or from GPT-2's vocab.json and merges.txt (str or PathLike)."""
        from tokenizers import Tokenizer as HfTokenizer
        from tokenizers import decoders, models, pre_tokenizers

        path, vocab, merges = (os.fspath(f) if f else None for f in (path, vocab, merges))
        files = [path] if path else [vocab, merges]
        for f in files:
            if not os.path.isfile(f):
                raise PtirError(f"cannot read tokenizer file {f}: no such file")
        try:
            if path:
                tok = HfTokenizer.from_file(path)
            else:
                tok = HfTokenizer(models.BPE.from_file(vocab, merges))
                # what GPT-2's tokenizer.json declares: bytes as printable characters, no prefix space
                tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
                tok.decoder = decoders.ByteLevel()
        except Exception as e:   # tokenizers raises plain Exceptions with serde's message
            raise PtirError(f"cannot read tokenizer {' + '.join(files)}: {e}") from None
        return cls(tok)

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text).ids

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(list(ids))

    def stream(self) -> TextStream:
        return TextStream(self)


class TextStream:
    """Decodes tokens one at a time into text pieces.  A character's bytes may span tokens:
    text ending in an incomplete UTF-8 sequence (decoded as U+FFFD) is held back until
    the next token completes it, or until `flush`."""

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer, self.ids, self.shown = tokenizer, [], ""

    def push(self, token: int) -> str:
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids)
        return "" if text.endswith("\ufffd") else self._emit(text)

    def flush(self) -> str:
        return self._emit(self.tokenizer.decode(self.ids))

    def _emit(self, text: str) -> str:
        new, self.shown = text[len(self.shown):], text
        return new
