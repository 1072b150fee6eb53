/**
 * Typed media errors. Each names the file and says what is wrong, so that a pipeline step can
 * quarantine the record with a reason (`kind`) and go on.
 */
export type MediaErrorKind = "not-found" | "not-media" | "no-video-stream" | "zero-duration" | "truncated" | "decode-failed";

export class MediaError extends Error {
  constructor(
    readonly kind: MediaErrorKind,
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "MediaError";
  }
}

export class MediaNotFoundError extends MediaError {
  constructor(file: string) {
    super("not-found", file, "no such file");
    this.name = "MediaNotFoundError";
  }
}

export class NotMediaError extends MediaError {
  constructor(file: string, why: string) {
    super("not-media", file, `not an image or video (${why})`);
    this.name = "NotMediaError";
  }
}

export class NoVideoStreamError extends MediaError {
  constructor(file: string, streams: readonly string[]) {
    super("no-video-stream", file, `no video stream (streams: ${streams.length ? streams.join(", ") : "none"})`);
    this.name = "NoVideoStreamError";
  }
}

export class ZeroDurationError extends MediaError {
  constructor(file: string) {
    super("zero-duration", file, "the video stream has no frames (zero duration)");
    this.name = "ZeroDurationError";
  }
}

export class TruncatedMediaError extends MediaError {
  constructor(file: string, detail: string) {
    super("truncated", file, `truncated or damaged: ${detail}`);
    this.name = "TruncatedMediaError";
  }
}

export class DecodeFailedError extends MediaError {
  constructor(
    file: string,
    /** Presentation time (seconds) of the last frame decoded before the failure. */
    readonly atS: number,
    detail: string,
  ) {
    super("decode-failed", file, `decode failed at t = ${atS.toFixed(3)} s: ${detail}`);
    this.name = "DecodeFailedError";
  }
}
