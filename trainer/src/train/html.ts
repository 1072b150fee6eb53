/** Text made safe for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The middle value (the upper one of an even count); undefined for no values. */
export function median(xs: readonly number[]): number | undefined {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
