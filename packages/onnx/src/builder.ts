/**
 * A small ONNX graph builder: ops by name, symbolic dimensions, weights either as graph inputs (the
 * trainer: one session serves every optimizer step) or as initializers (vqgan: raw bytes inside the
 * model, or in an external data file that several models share). Serialised with protobufjs over an
 * inline subset of onnx.proto (IR 8, opset 17), as measured in reference/deps.md §4.
 */
import protobuf from "protobufjs";

const PROTO = `
syntax = "proto2"; package onnx;
message AttributeProto { enum AttributeType { UNDEFINED=0; FLOAT=1; INT=2; STRING=3; TENSOR=4; GRAPH=5; FLOATS=6; INTS=7; STRINGS=8; }
  optional string name=1; optional float f=2; optional int64 i=3; optional bytes s=4; optional TensorProto t=5; optional GraphProto g=6;
  repeated float floats=7; repeated int64 ints=8; optional AttributeType type=20; }
message ValueInfoProto { optional string name=1; optional TypeProto type=2; }
message NodeProto { repeated string input=1; repeated string output=2; optional string name=3; optional string op_type=4;
  repeated AttributeProto attribute=5; optional string domain=7; }
message ModelProto { optional int64 ir_version=1; optional string producer_name=2; optional GraphProto graph=7;
  repeated OperatorSetIdProto opset_import=8; }
message GraphProto { repeated NodeProto node=1; optional string name=2; repeated TensorProto initializer=5;
  repeated ValueInfoProto input=11; repeated ValueInfoProto output=12; }
message TensorProto { repeated int64 dims=1; optional int32 data_type=2; repeated float float_data=4 [packed=true];
  repeated int64 int64_data=7 [packed=true]; optional string name=8; optional bytes raw_data=9;
  repeated StringStringEntryProto external_data=13; optional int32 data_location=14; }
message StringStringEntryProto { optional string key=1; optional string value=2; }
message TensorShapeProto { message Dimension { oneof value { int64 dim_value=1; string dim_param=2; } } repeated Dimension dim=1; }
message TypeProto { message Tensor { optional int32 elem_type=1; optional TensorShapeProto shape=2; } oneof value { Tensor tensor_type=1; } }
message OperatorSetIdProto { optional string domain=1; optional int64 version=2; }
`;

const ModelProto = protobuf.parse(PROTO, { keepCase: true }).root.lookupType("onnx.ModelProto");

const FLOAT = 1,
  UINT8 = 2,
  UINT16 = 4,
  INT32 = 6,
  INT64 = 7,
  BOOL = 9;
const DATA_LOCATION_EXTERNAL = 1;
const ATTR_FLOAT = 1,
  ATTR_INT = 2,
  ATTR_STRING = 3,
  ATTR_GRAPH = 5,
  ATTR_INTS = 7;

export type Dim = number | string;
/** A value in the graph, by name. */
export type V = string;

export type Attr = { f: number } | { i: number } | { ints: number[] } | { s: string } | { g: GraphBuilder };
export const f = (x: number): Attr => ({ f: x });
export const i = (x: number): Attr => ({ i: x });
export const ints = (x: number[]): Attr => ({ ints: x });

interface NodeObj {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: object[];
}
interface ValueInfoObj {
  name: string;
  type: object;
}

function valueInfo(name: string, elemType: number, dims?: Dim[]): ValueInfoObj {
  const tensor: { elem_type: number; shape?: object } = { elem_type: elemType };
  if (dims) tensor.shape = { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) };
  return { name, type: { tensor_type: tensor } };
}

export type ElemType = "float" | "uint8" | "uint16" | "int32" | "int64" | "bool";
const ELEM: Record<ElemType, number> = { float: FLOAT, uint8: UINT8, uint16: UINT16, int32: INT32, int64: INT64, bool: BOOL };
/** ONNX TensorProto.DataType numbers, for Cast's `to` attribute. */
export const ONNX_TYPE: Readonly<Record<ElemType, number>> = ELEM;

/** Tensor data an initializer can hold (little-endian host bytes, as raw_data). */
export type InitData = Float32Array | Uint8Array | Uint16Array | Int32Array | BigInt64Array;
function elemTypeOf(data: InitData): number {
  return data instanceof Float32Array
    ? FLOAT
    : data instanceof Uint8Array
      ? UINT8
      : data instanceof Uint16Array
        ? UINT16
        : data instanceof Int32Array
          ? INT32
          : INT64;
}

/** Where an initializer's bytes live when they are kept outside the model file. */
export interface ExternalRef {
  file: string;
  offset: number;
  length: number;
}

export class GraphBuilder {
  private nodes: NodeObj[] = [];
  private inputs: ValueInfoObj[] = [];
  private outputs: ValueInfoObj[] = [];
  private inits: object[] = [];
  private counter = 0;
  readonly inputNames: string[] = [];
  readonly outputNames: string[] = [];

  /** `prefix` keeps a subgraph's generated names apart from its parent's (ONNX names are global across scopes). */
  constructor(
    readonly name: string,
    private readonly prefix = "",
    readonly producer = "lwm",
  ) {}

  /** A graph for a control-flow attribute (Loop body); it may read this graph's values by name. */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, `${this.prefix}${name}_`);
  }

  input(name: string, dims: Dim[], elemType: ElemType = "float"): V {
    this.inputs.push(valueInfo(name, ELEM[elemType], dims));
    this.inputNames.push(name);
    return name;
  }

  /** Marks `value` as the graph output `name` (through an Identity when the names differ). */
  output(name: string, value: V, elemType: ElemType = "float", dims?: Dim[]): void {
    if (value !== name) this.nodes.push({ input: [value], output: [name], name: `${this.prefix}n${this.counter++}`, op_type: "Identity", attribute: [] });
    this.outputs.push(valueInfo(name, ELEM[elemType], dims));
    this.outputNames.push(name);
  }

  /** A float constant (scalar when dims is []). */
  constF(values: number[], dims: number[] = []): V {
    const name = `${this.prefix}c${this.counter++}`;
    this.inits.push({ name, data_type: FLOAT, dims, float_data: values });
    return name;
  }
  /** An int64 constant (shapes, axes). */
  constI(values: number[], dims: number[] = [values.length]): V {
    const name = `${this.prefix}c${this.counter++}`;
    this.inits.push({ name, data_type: INT64, dims, int64_data: values });
    return name;
  }

  /**
   * A constant tensor of any size, stored as raw bytes inside the model, or (with `external`) in a
   * data file beside it that onnxruntime reads when the session is created from the model's path.
   */
  initializer(data: InitData, dims: readonly number[], external?: ExternalRef): V {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`onnx builder (${this.name}): initializer has ${data.length} values for dims [${dims.join(", ")}]`);
    if (external) return this.externalInitializer(elemTypeOf(data), dims, external);
    const name = `${this.prefix}w${this.counter++}`;
    this.inits.push({ name, data_type: elemTypeOf(data), dims: [...dims], raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** A constant whose little-endian bytes are already in a file beside the model (e.g. a safetensors file). */
  externalInitializer(elemType: number | ElemType, dims: readonly number[], ref: ExternalRef): V {
    const name = `${this.prefix}w${this.counter++}`;
    const external_data = [
      { key: "location", value: ref.file },
      { key: "offset", value: String(ref.offset) },
      { key: "length", value: String(ref.length) },
    ];
    this.inits.push({
      name,
      data_type: typeof elemType === "number" ? elemType : ELEM[elemType],
      dims: [...dims],
      data_location: DATA_LOCATION_EXTERNAL,
      external_data,
    });
    return name;
  }

  op(opType: string, inputs: V[], attrs: Record<string, Attr> = {}): V {
    return this.opN(opType, inputs, 1, attrs)[0]!;
  }
  opN(opType: string, inputs: V[], nOut: number, attrs: Record<string, Attr> = {}): V[] {
    const outs = Array.from({ length: nOut }, () => `${this.prefix}t${this.counter++}`);
    const attribute = Object.entries(attrs).map(([name, a]) =>
      "f" in a
        ? { name, type: ATTR_FLOAT, f: a.f }
        : "i" in a
          ? { name, type: ATTR_INT, i: a.i }
          : "s" in a
            ? { name, type: ATTR_STRING, s: new TextEncoder().encode(a.s) }
            : "g" in a
              ? { name, type: ATTR_GRAPH, g: a.g.toGraph() }
              : { name, type: ATTR_INTS, ints: a.ints },
    );
    this.nodes.push({ input: inputs, output: outs, name: `${this.prefix}n${this.counter++}`, op_type: opType, attribute });
    return outs;
  }

  // ---- shorthands for the ops the model uses
  add(a: V, b: V) {
    return this.op("Add", [a, b]);
  }
  sub(a: V, b: V) {
    return this.op("Sub", [a, b]);
  }
  mul(a: V, b: V) {
    return this.op("Mul", [a, b]);
  }
  div(a: V, b: V) {
    return this.op("Div", [a, b]);
  }
  neg(a: V) {
    return this.op("Neg", [a]);
  }
  exp(a: V) {
    return this.op("Exp", [a]);
  }
  log(a: V) {
    return this.op("Log", [a]);
  }
  sigmoid(a: V) {
    return this.op("Sigmoid", [a]);
  }
  matmul(a: V, b: V) {
    return this.op("MatMul", [a, b]);
  }
  /** a·bᵀ etc. for 2-D operands. */
  gemm(a: V, b: V, transA = 0, transB = 0) {
    return this.op("Gemm", [a, b], { transA: i(transA), transB: i(transB) });
  }
  transpose(a: V, perm: number[]) {
    return this.op("Transpose", [a], { perm: ints(perm) });
  }
  /** Reshape to a constant shape, or to a shape held by an int64 value. */
  reshape(a: V, shape: number[] | V) {
    return this.op("Reshape", [a, typeof shape === "string" ? shape : this.constI(shape)]);
  }
  sumLast(a: V, keep = 1) {
    return this.op("ReduceSum", [a, this.constI([-1])], { keepdims: i(keep) });
  }
  sumAxes(a: V, axes: number[], keep = 0) {
    return this.op("ReduceSum", [a, this.constI(axes)], { keepdims: i(keep) });
  }
  maxLast(a: V) {
    return this.op("ReduceMax", [a], { axes: ints([-1]), keepdims: i(1) });
  }
  meanLast(a: V) {
    return this.op("ReduceMean", [a], { axes: ints([-1]), keepdims: i(1) });
  }

  toGraph(): object {
    return { name: this.name, node: this.nodes, input: this.inputs, output: this.outputs, initializer: this.inits };
  }

  toBytes(): Uint8Array {
    const model = { ir_version: 8, producer_name: this.producer, graph: this.toGraph(), opset_import: [{ domain: "", version: 17 }] };
    const err = ModelProto.verify(model);
    if (err) throw new Error(`onnx builder (${this.name}): ${err}`);
    return ModelProto.encode(ModelProto.create(model)).finish();
  }
}

export const ONNX_BOOL = BOOL;
