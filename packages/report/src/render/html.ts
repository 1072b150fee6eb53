/**
 * HTML built so that data cannot become markup: every value interpolated into the `html` template
 * is escaped unless it is already `Html` (made by this template, or marked trusted with `trusted`
 * where a renderer we own produced it, e.g. the trainer's SVG charts).
 */
import { escapeHtml } from "@lwm/trainer";

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Interpolated = Html | string | number | null | undefined | false | readonly Interpolated[];

function piece(v: Interpolated): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(piece).join("");
  return escapeHtml(String(v));
}

/** Tagged template: markup as written, every interpolated value escaped (arrays joined). */
export function html(strings: TemplateStringsArray, ...values: readonly Interpolated[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += piece(v) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Markup produced by code we own (never by data); the one way around escaping. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** An id for an in-page anchor, from any text: only [a-z0-9-] survive. */
export function anchorId(prefix: string, text: string): string {
  return `${prefix}-${
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "x"
  }`;
}

/** An image as a data: URI (the page loads nothing from anywhere). */
export function dataUri(mime: "image/jpeg" | "image/png", bytes: Uint8Array): string {
  return `data:${mime};base64,${Buffer.from(bytes).toString("base64")}`;
}

/** No scripts, no fetches, images only from data: URIs, styles only inline. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

const STYLE = `
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.4}
h1{margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}h3{margin-top:24px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top}
th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}.muted{color:#666}
.absent{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px}
.problems{background:#fdecea;border-left:4px solid #c62828;padding:8px 12px}
.text{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px;background:#f8f8f8;padding:6px;max-height:240px;overflow:auto}
code{font-size:12px;word-break:break-all}svg{display:block;margin:8px 0}nav a{margin-right:12px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;padding:8px 12px;min-width:130px}.card b{display:block;font-size:20px}
`;

/** The whole page: one file, CSP meta first so nothing before it can load anything. */
export function page(title: string, body: Html): string {
  return `<!doctype html>
${html`<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${trusted(STYLE)}</style>
</head><body>
${body}
</body></html>
`}`;
}
