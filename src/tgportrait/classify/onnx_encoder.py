"""MiniLM on ONNX Runtime, int8: reads the packaged weights, writes one sentence vector per text, ~10x NumPy.

The NumPy encoder (``classify.embeddings.SentenceEncoder``) runs at ~90 messages per CPU second: its
matrix products are already near what float32 BLAS gives on one core. This module builds the same
network (BERT encoder, mean pooling, unit length) as an ONNX graph from the weights in memory — no
export tool, no torch — quantizes its weight matrices to int8 per channel (ONNX Runtime's dynamic
quantization: activations are quantized per run, so each text runs alone) and runs it with ONNX
Runtime's int8 kernels (VNNI where the CPU has it). The vectors differ slightly from the float ones
(cosine ≥ 0.97 on our test sentences, 0.994 on average on banking77; tests/classify/test_onnx_encoder.py),
so a model is trained and run with the same encoder (``encoder`` in ``model.json``).

The graph is built and quantized once per process (a few seconds), in a temporary folder; nothing is
downloaded. Threads: ``OMP_NUM_THREADS`` when set, else one. One text per run is too small to share between
cores: on 2 cores ONNX Runtime's default (a thread per core) used twice the CPU time and was slower by the
clock (846 against 917 texts per second on banking77).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tgportrait.errors import ConfigError

if TYPE_CHECKING:
    from tgportrait.classify.embeddings import SentenceEncoder, TextEncoder, WordPieceTokenizer

NAME = "all-MiniLM-L6-v2, ONNX Runtime int8"
NUMPY_NAME = "all-MiniLM-L6-v2, NumPy float32"  # classify.embeddings.SentenceEncoder (models saved before: no name)
INSTALL_HINT = "pip install onnxruntime onnx (make install does)"


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def build_graph(encoder: SentenceEncoder) -> Any:
    """The encoder's network as an ``onnx.ModelProto`` (float32): input_ids, attention_mask -> embedding."""
    from onnx import TensorProto, helper, numpy_helper

    w = encoder.weights
    nodes: list[Any] = []
    initializers: list[Any] = []
    hidden_size = encoder.dimensions
    heads = encoder.heads
    head_size = hidden_size // heads

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def dense(value: str, name: str, output: str, scale: np.float32 | None = None) -> str:
        """value @ weight.T + bias (both times ``scale``: the attention's 1/sqrt(head size) folded into the query)."""
        factor = np.float32(1.0) if scale is None else scale
        weight = constant(f"{name}.weight_t", (w[f"{name}.weight"].T * factor).astype(np.float32))
        product = node("MatMul", [value, weight], f"{output}.product")
        return node("Add", [product, constant(f"{name}.bias", (w[f"{name}.bias"] * factor).astype(np.float32))], output)

    def layer_norm(value: str, name: str, output: str) -> str:
        return node("LayerNormalization", [value, constant(f"{name}.weight", w[f"{name}.weight"].astype(np.float32)),
                                           constant(f"{name}.bias", w[f"{name}.bias"].astype(np.float32))],
                    output, axis=-1, epsilon=encoder.epsilon)

    words = node("Gather", [constant("word_embeddings", w["embeddings.word_embeddings.weight"].astype(np.float32)),
                            "input_ids"], "words")
    shape = node("Shape", ["input_ids"], "ids_shape")
    one_1, two_1 = constant("one_1", np.array([1], np.int64)), constant("two_1", np.array([2], np.int64))
    zero_1, axis0 = constant("zero_1", np.array([0], np.int64)), constant("axis0", np.array([0], np.int64))
    length = node("Slice", [shape, one_1, two_1], "length")
    positions = node("Slice", [constant("position_embeddings",
                                        w["embeddings.position_embeddings.weight"].astype(np.float32)),
                               zero_1, length, axis0], "positions")
    summed = node("Add", [node("Add", [words, positions], "words_positions"),
                          constant("token_type", w["embeddings.token_type_embeddings.weight"][0].astype(np.float32))],
                  "embedded")
    hidden = layer_norm(summed, "embeddings.LayerNorm", "hidden_0")
    mask = node("Cast", ["attention_mask"], "mask", to=TensorProto.FLOAT)
    blocked = node("Mul", [node("Sub", [constant("one", np.array(1.0, np.float32)), mask], "unmasked"),
                           constant("minus_big", np.array(-1e9, np.float32))], "blocked_flat")
    blocked = node("Unsqueeze", [blocked, constant("axes_1_2", np.array([1, 2], np.int64))], "blocked")
    split_shape = constant("split_shape", np.array([0, 0, heads, head_size], np.int64))
    merge_shape = constant("merge_shape", np.array([0, 0, hidden_size], np.int64))
    for layer in range(encoder.layers):
        p = f"encoder.layer.{layer}"

        def heads_of(kind: str, perm: list[int], p: str = p, layer: int = layer, hidden: str = hidden) -> str:
            projected = dense(hidden, f"{p}.attention.self.{kind}", f"l{layer}.{kind}",
                              np.float32(1.0 / np.sqrt(head_size)) if kind == "query" else None)
            reshaped = node("Reshape", [projected, split_shape], f"l{layer}.{kind}.split")
            return node("Transpose", [reshaped], f"l{layer}.{kind}.heads", perm=perm)

        query, key = heads_of("query", [0, 2, 1, 3]), heads_of("key", [0, 2, 3, 1])
        value = heads_of("value", [0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [query, key], f"l{layer}.qk"), blocked], f"l{layer}.scores")
        attention = node("Softmax", [scores], f"l{layer}.attention", axis=-1)
        context = node("MatMul", [attention, value], f"l{layer}.context_heads")
        context = node("Reshape", [node("Transpose", [context], f"l{layer}.context_t", perm=[0, 2, 1, 3]), merge_shape],
                       f"l{layer}.context")
        attended = dense(context, f"{p}.attention.output.dense", f"l{layer}.attended")
        hidden = layer_norm(node("Add", [hidden, attended], f"l{layer}.residual_1"), f"{p}.attention.output.LayerNorm",
                            f"l{layer}.hidden_1")
        inner = dense(hidden, f"{p}.intermediate.dense", f"l{layer}.inner")
        # GELU written as ONNX Runtime's fusion expects it (x / sqrt 2 -> Erf -> + 1 -> * x -> * 0.5): one fused op
        erf = node("Erf", [node("Div", [inner, constant(f"l{layer}.sqrt2", np.array(np.sqrt(2), np.float32))],
                                f"l{layer}.inner_scaled")], f"l{layer}.erf")
        gelu = node("Mul", [node("Mul", [inner, node("Add", [erf, "one"], f"l{layer}.erf_1")], f"l{layer}.gelu_2x"),
                            constant(f"l{layer}.half", np.array(0.5, np.float32))], f"l{layer}.gelu")
        out = dense(gelu, f"{p}.output.dense", f"l{layer}.out")
        hidden = layer_norm(node("Add", [hidden, out], f"l{layer}.residual_2"), f"{p}.output.LayerNorm",
                            f"hidden_{layer + 1}")
    weights = node("Unsqueeze", [mask, constant("axis_2", np.array([2], np.int64))], "mask_3d")
    total = node("ReduceSum", [node("Mul", [hidden, weights], "masked"), constant("axis_1", np.array([1], np.int64))],
                 "total", keepdims=0)
    count = node("Max", [node("ReduceSum", [weights, "axis_1"], "count_raw", keepdims=0), "one"], "count")
    node("LpNormalization", [node("Div", [total, count], "pooled")], "embedding", axis=1, p=2)
    graph = helper.make_graph(
        nodes, "minilm",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "length"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden_size])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@dataclass
class OnnxEncoder:
    """Sentence vectors from the int8 ONNX graph of a ``SentenceEncoder`` (same tokenizer, one text per run)."""

    tokenizer: WordPieceTokenizer
    session: Any
    dimensions: int
    name: str = NAME

    def encode(self, texts: Sequence[str], batch_size: int = 1) -> np.ndarray:
        """One unit-length float32 row per text, in order. One text per run, whatever ``batch_size`` says:
        dynamic quantization scales each run's activations together, so in a batch a text's vector would depend
        on the texts beside it (and an intent could change with them); alone it depends on the text only."""
        result = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        run = self.session.run
        for row, text in enumerate(texts):
            ids = np.asarray([self.tokenizer.encode(text or "")], dtype=np.int64)
            result[row] = run(["embedding"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        return result


def load_onnx_encoder(folder: Path | None = None) -> OnnxEncoder:
    """The int8 ONNX encoder of the MiniLM in ``folder`` (default: the installed package); built once per process."""
    from tgportrait.classify.embeddings import packaged_model_dir

    return _onnx_encoder_cached(folder or packaged_model_dir())


@cache
def _onnx_encoder_cached(folder: Path | None) -> OnnxEncoder:
    if not onnx_available():
        raise ConfigError("ONNX Runtime is not installed, so the int8 sentence encoder is not available",
                          hint=INSTALL_HINT)
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from tgportrait.classify.embeddings import load_encoder

    encoder = load_encoder(folder)
    options = onnxruntime.SessionOptions()
    threads = os.environ.get("OMP_NUM_THREADS", "")
    options.intra_op_num_threads = options.inter_op_num_threads = int(threads) if threads.isdigit() else 1
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory(prefix="tgportrait-onnx-") as scratch:
        plain, quantized = Path(scratch) / "minilm.onnx", Path(scratch) / "minilm-int8.onnx"
        onnx.save(build_graph(encoder), plain)
        with _without_quantizer_advice():
            quantize_dynamic(plain, quantized, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                             per_channel=True)
        # the fused skip + layer norm kernel is ten times slower than the two ops here (measured): not fused
        session = onnxruntime.InferenceSession(quantized.read_bytes(), options, providers=["CPUExecutionProvider"],
                                               disabled_optimizers=["SkipLayerNormFusion"])
    return OnnxEncoder(encoder.tokenizer, session, encoder.dimensions)


@contextmanager
def _without_quantizer_advice() -> Iterator[None]:
    """ONNX Runtime's quantizer advises, through the root logger, to pre-process a graph (shape inference and
    optimisation for exported models); ours is built for it. Drop that one message, and keep the root logger as
    it was (``logging.warning`` would otherwise install a handler on it for good)."""
    root = logging.getLogger()
    placeholder = logging.NullHandler() if not root.handlers else None
    if placeholder is not None:
        root.addHandler(placeholder)

    def not_the_advice(record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()

    root.addFilter(not_the_advice)
    try:
        yield
    finally:
        root.removeFilter(not_the_advice)
        if placeholder is not None:
            root.removeHandler(placeholder)


def default_encoder() -> TextEncoder:
    """The encoder new embedding heads are trained with: int8 ONNX when ONNX Runtime is installed, else NumPy."""
    if onnx_available():
        return load_onnx_encoder()
    from tgportrait.classify.embeddings import load_encoder

    return load_encoder()


def encoder_name(encoder: Any) -> str:
    return str(getattr(encoder, "name", NUMPY_NAME))


@dataclass
class LazyEncoder:
    """The int8 encoder, built on its first use: building and quantizing the graph takes a few seconds, and a
    cascade may never ask (``tgportrait intents classify "..."`` answered by the static head stays quick)."""

    dimensions: int
    name: str = NAME
    _encoder: OnnxEncoder | None = field(default=None, repr=False)

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    def encode(self, texts: Sequence[str], batch_size: int = 1) -> np.ndarray:
        if self._encoder is None:
            self._encoder = load_onnx_encoder()
        return self._encoder.encode(texts, batch_size)


def encoder_named(name: str | None, dimensions: int = 384) -> TextEncoder:
    """The encoder a saved model was trained with (``None``: a model from before the int8 encoder, NumPy); the int8
    one is built when first used (``LazyEncoder``)."""
    if name == NAME:
        return LazyEncoder(dimensions)
    if name in (None, NUMPY_NAME):
        from tgportrait.classify.embeddings import load_encoder

        return load_encoder()
    raise ConfigError(f"unknown sentence encoder '{name}' in a saved intent model",
                      hint="Retrain the model with this version of tgportrait.")
