/**
 * LWM's frame preprocessing (vision_chat.py `_process_frame`): RGB, resize so the short side is
 * `size` keeping the aspect ratio, centre crop size×size. As ffmpeg filters:
 *
 *   scale=W:H:flags=bicubic+accurate_rnd+full_chroma_int:param0=0:param1=0.5, format=rgb24, crop=size:size:x:y
 *
 * LWM resized with PIL's default filter, bicubic with a = −0.5 (Keys), widened by the scale factor
 * when shrinking. swscale's bicubic is the Mitchell–Netravali family with B = param0, C = param1;
 * B = 0, C = 0.5 is the same cubic, and swscale also widens it when shrinking. The long side is
 * floor(size·long/short) like LWM's int(); the crop offset is floor((W − size)/2).
 * Grayscale, palette and alpha sources become RGB (alpha dropped, as PIL's convert("RGB") does);
 * ffmpeg's autorotate applies the display matrix of rotated phone videos before these filters.
 */
export interface ScaleCrop {
  width: number;
  height: number;
  cropX: number;
  cropY: number;
  size: number;
}

export function scaleCropFor(width: number, height: number, size: number): ScaleCrop {
  const w = width <= height ? size : Math.floor((size * width) / height);
  const h = width <= height ? Math.floor((size * height) / width) : size;
  return { width: w, height: h, cropX: Math.floor((w - size) / 2), cropY: Math.floor((h - size) / 2), size };
}

export const SCALE_FLAGS = "flags=bicubic+accurate_rnd+full_chroma_int:param0=0:param1=0.5";

export function preprocessFilters(sc: ScaleCrop): string[] {
  return [`scale=${sc.width}:${sc.height}:${SCALE_FLAGS}`, "format=rgb24", `crop=${sc.size}:${sc.size}:${sc.cropX}:${sc.cropY}`];
}
