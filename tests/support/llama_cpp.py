"""A real inference server for tests and the bench: llama.cpp's, on a tiny random model.

`write_tiny_model` writes, with the `gguf` package (the GGUF writer maintained with
llama.cpp), a llama-architecture model of random weights: 2 layers, 64 wide, a
SentencePiece-style vocabulary of a few hundred tokens (the 256 byte tokens, printable
characters, a list of English words with every prefix, so that llama.cpp's SPM tokenizer
can merge up to each word) and a ChatML chat template. It is well under 1 MB, loads in
milliseconds and answers word salad, which is all a measurement needs. Control and byte
tokens have zero output weights, so greedy decoding never picks them: replies run to
`max_tokens`, one whole word piece (one streamed delta) per token.

`running_llama_server` starts llama-cpp-python's OpenAI-compatible server
(`python -m llama_cpp.server`) on a free port with `--interrupt_requests False` (by default
it cuts an in-flight stream short when another request arrives) and waits on its health.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from ollamon_cli.nats_server import free_port

MODEL_ALIAS = "tiny-llama"
EMBEDDING_LENGTH = 64
LAYERS = 2
HEADS = 4
FEED_FORWARD_LENGTH = 128
TRAINED_CONTEXT = 2048
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
_WORDS = """
    the a an and or but if of to in on at by for with from as is are was were be been
    it this that these those there here what which who how why when where we you they
    he she i me my your our their one two three four five many some all no not yes
    sky blue sea green red light dark day night sun moon star cloud rain wind snow
    tree leaf river stone hill road city house door window fire water earth time word
    model token server proxy fast slow say hello world
"""
WORDS = tuple(_WORDS.split())
SPACE = "\u2581"  # SentencePiece's word-boundary mark


def tiny_vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types (gguf.TokenType) of the tiny SPM vocabulary."""
    from gguf import TokenType

    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types = [TokenType.UNKNOWN, *[TokenType.CONTROL] * 4]
    tokens += [f"<0x{byte:02X}>" for byte in range(256)]
    types += [TokenType.BYTE] * 256
    # No "<": llama-cpp-python holds back a delta that might begin the "<|im_end|>" stop
    # text and sends it with the next, which would make two tokens one delta.
    pieces = [SPACE, *(chr(code) for code in range(33, 127) if chr(code) != "<")]
    for word in WORDS:
        marked = SPACE + word
        pieces += [marked[:end] for end in range(2, len(marked) + 1)]
    unique = list(dict.fromkeys(piece for piece in pieces if piece not in tokens))
    tokens += unique
    types += [TokenType.NORMAL] * len(unique)
    # SPM merges the highest-scoring pair first: longer pieces win.
    scores = [
        0.0 if kind != TokenType.NORMAL else float(len(token))
        for token, kind in zip(tokens, types, strict=True)
    ]
    return tokens, scores, [int(kind) for kind in types]


def write_tiny_model(path: Path, seed: int = 17) -> Path:
    """Write the tiny llama GGUF model to `path` (random weights fixed by `seed`)."""
    import gguf
    import numpy as np

    tokens, scores, types = tiny_vocabulary()
    rng = np.random.default_rng(seed)
    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA]
    names = gguf.TENSOR_NAMES
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("ollamon tiny random llama")
    writer.add_context_length(TRAINED_CONTEXT)
    writer.add_embedding_length(EMBEDDING_LENGTH)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FEED_FORWARD_LENGTH)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_dimension_count(EMBEDDING_LENGTH // HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHATML_TEMPLATE)

    def matrix(rows: int, columns: int, scale: float) -> np.ndarray:
        # numpy's (rows, columns) is ggml's {columns, rows}: inputs along the first axis.
        return (rng.standard_normal((rows, columns)) * scale).astype(np.float16)

    def ones() -> np.ndarray:
        return np.ones(EMBEDDING_LENGTH, dtype=np.float32)

    width, hidden = EMBEDDING_LENGTH, FEED_FORWARD_LENGTH
    output = matrix(len(tokens), width, 1.0)
    output[[kind != gguf.TokenType.NORMAL for kind in types]] = 0.0
    writer.add_tensor(
        names[gguf.MODEL_TENSOR.TOKEN_EMBD] + ".weight", matrix(len(tokens), width, 1.0)
    )
    writer.add_tensor(names[gguf.MODEL_TENSOR.OUTPUT_NORM] + ".weight", ones())
    writer.add_tensor(names[gguf.MODEL_TENSOR.OUTPUT] + ".weight", output)
    per_layer = {
        gguf.MODEL_TENSOR.ATTN_NORM: None,
        gguf.MODEL_TENSOR.ATTN_Q: (width, width),
        gguf.MODEL_TENSOR.ATTN_K: (width, width),
        gguf.MODEL_TENSOR.ATTN_V: (width, width),
        gguf.MODEL_TENSOR.ATTN_OUT: (width, width),
        gguf.MODEL_TENSOR.FFN_NORM: None,
        gguf.MODEL_TENSOR.FFN_GATE: (hidden, width),
        gguf.MODEL_TENSOR.FFN_UP: (hidden, width),
        gguf.MODEL_TENSOR.FFN_DOWN: (width, hidden),
    }
    for layer in range(LAYERS):
        for tensor, shape in per_layer.items():
            name = names[tensor].format(bid=layer) + ".weight"
            value = ones() if shape is None else matrix(*shape, scale=shape[1] ** -0.5)
            writer.add_tensor(name, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@dataclass
class LlamaServer:
    """A running llama-cpp-python server: its base URL (`/v1` is the OpenAI API)."""

    url: str
    context_tokens: int
    process: subprocess.Popen[bytes]
    model: str = MODEL_ALIAS

    def stop(self) -> None:
        """Terminate the server (kill it after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_llama_server(
    model: Path, context_tokens: int = 512, log: Path | None = None, timeout: float = 60.0
) -> LlamaServer:
    """llama-cpp-python's OpenAI-compatible server on `model`, on a free loopback port;
    blocks until it answers `/v1/models` (it has no health route of its own)."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(context_tokens),
        "--n_batch", str(context_tokens),
        "--n_threads", "1",
        "--interrupt_requests", "False",
        "--verbose", "False",
    ]  # fmt: skip
    with contextlib.ExitStack() as files:
        output = files.enter_context(log.open("ab")) if log else subprocess.DEVNULL
        process = subprocess.Popen(
            command, stdout=output, stderr=output, env={**os.environ, "OMP_NUM_THREADS": "1"}
        )
    server = LlamaServer(f"http://127.0.0.1:{port}", context_tokens, process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the llama.cpp server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/v1/models", timeout=2).status_code == 200:
                return server
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the llama.cpp server at {server.url} was not up in {timeout} s")
        time.sleep(0.1)


@contextlib.asynccontextmanager
async def running_llama_server(
    model: Path, context_tokens: int = 512, log: Path | None = None
) -> AsyncIterator[LlamaServer]:
    """`start_llama_server` for async code: the server until the block ends."""
    server = await asyncio.to_thread(start_llama_server, model, context_tokens, log)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
