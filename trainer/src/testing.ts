/** Test and benchmark fixtures of @lwm/trainer ("@lwm/trainer/testing"): learnable synthetic packed stages and tiny vocabularies. */
export { writeSyntheticStage, TINY_VOCAB, TINY_VL_VOCAB, type SyntheticStageOptions } from "./data/synthetic.js";
