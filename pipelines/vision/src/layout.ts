/**
 * One LWM vision-text example (lwm-spec §1.4–1.5), token by token:
 *
 *   →text:   BOS  pieces("<vision>") f1[256] <eof> … fN[256] <eov> pieces("</vision>")  caption  EOS
 *   →vision: BOS  caption  pieces("<vision>") f1[256] <eof> … fN[256] <eov> pieces("</vision>")  EOS
 *
 * Vision flag on the codes and the <eof>/<eov> delimiters only. Loss on what the task asks to
 * generate: the caption for →text, the whole vision block (its tag pieces included) for →vision,
 * and EOS in both; never on BOS. Tags and caption carry no BOS/EOS of their own.
 */
import type { VisionTask } from "@lwm/schemas";

export interface ExampleParts {
  bosId: number;
  eosId: number;
  eofId: number;
  eovId: number;
  tokensPerFrame: number;
  open: Uint32Array;
  close: Uint32Array;
  caption: Uint32Array;
  /** frames × tokensPerFrame codes, frame after frame. */
  codes: Uint16Array;
}

export interface LaidOutExample {
  tokens: Uint32Array;
  vision: Uint8Array;
  loss: Uint8Array;
}

export function isToText(task: VisionTask): boolean {
  return task === "image-text" || task === "video-text";
}

/** Tokens of an example with `frames` frames and a caption of `captionTokens` ids. */
export function exampleLength(frames: number, captionTokens: number, p: { open: Uint32Array; close: Uint32Array; tokensPerFrame: number }): number {
  return 2 + p.open.length + p.close.length + captionTokens + frames * (p.tokensPerFrame + 1);
}

/** The most frames an example of this caption can hold within seqLen (may be 0). */
export function framesThatFit(seqLen: number, captionTokens: number, p: { open: Uint32Array; close: Uint32Array; tokensPerFrame: number }): number {
  return Math.max(0, Math.floor((seqLen - exampleLength(0, captionTokens, p)) / (p.tokensPerFrame + 1)));
}

export function layOutExample(task: VisionTask, p: ExampleParts): LaidOutExample {
  const frames = p.codes.length / p.tokensPerFrame;
  if (!(Number.isInteger(frames) && frames >= 1)) throw new RangeError(`${p.codes.length} codes are not whole frames of ${p.tokensPerFrame}`);
  const n = exampleLength(frames, p.caption.length, p);
  const tokens = new Uint32Array(n);
  const vision = new Uint8Array(n);
  const loss = new Uint8Array(n);
  let at = 0;
  const put = (ids: ArrayLike<number>, isVision: boolean, isLoss: boolean) => {
    for (let k = 0; k < ids.length; k++) {
      tokens[at] = ids[k] as number;
      vision[at] = isVision ? 1 : 0;
      loss[at] = isLoss ? 1 : 0;
      at++;
    }
  };
  const block = (isLoss: boolean) => {
    put(p.open, false, isLoss);
    for (let f = 0; f < frames; f++) {
      put(p.codes.subarray(f * p.tokensPerFrame, (f + 1) * p.tokensPerFrame), true, isLoss);
      put([f === frames - 1 ? p.eovId : p.eofId], true, isLoss);
    }
    put(p.close, false, isLoss);
  };
  put([p.bosId], false, false);
  if (isToText(task)) {
    block(false);
    put(p.caption, false, true);
  } else {
    put(p.caption, false, false);
    block(true);
  }
  put([p.eosId], false, true);
  return { tokens, vision, loss };
}
