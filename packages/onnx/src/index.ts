/** @lwm/onnx: the ONNX graph builder shared by the trainer's kernels and the VQGAN graphs. */
export { GraphBuilder, ONNX_BOOL, ONNX_TYPE, f, i, ints, type Attr, type Dim, type V, type ElemType, type InitData, type ExternalRef } from "./builder.js";
