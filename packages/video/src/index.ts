/**
 * @lwm/video: images and video frames as LWM feeds them to its VQGAN, decoded by ffmpeg.
 *   probe.ts       one ffprobe per file, cached by sha256; typed errors for bad media
 *   sampling.ts    fps or floor(linspace) frame selection as one ffmpeg filter
 *   preprocess.ts  short side → 256, centre crop, RGB
 *   decode.ts      one ffmpeg process per clip, rgb24 frames with presentation times
 *   fifo.ts        the frames through a named pipe, read straight into frame buffers (frame-queue.ts)
 */
export { ffmpegBinaries, resetFfmpegBinaries, type FfmpegBinaries, type BinarySource } from "./binaries.js";
export {
  MediaError,
  MediaNotFoundError,
  NotMediaError,
  NoVideoStreamError,
  ZeroDurationError,
  TruncatedMediaError,
  DecodeFailedError,
  type MediaErrorKind,
} from "./errors.js";
export { probeMedia, ProbeCache, MediaProbe } from "./probe.js";
export { linspaceIndices, linspaceSelectExpression, type Sampling } from "./sampling.js";
export { scaleCropFor, preprocessFilters, SCALE_FLAGS, type ScaleCrop } from "./preprocess.js";
export { decodeFrames, decodeAll, planDecode, type Frame, type DecodeOptions, type DecodePlan, type FrameTransport } from "./decode.js";
export { countFramesInWindow } from "./window.js";
export { jpegOrientation, orientationFilters, type ExifOrientation } from "./exif.js";
