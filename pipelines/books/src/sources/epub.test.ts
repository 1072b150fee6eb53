import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { epubText, parseEpub } from "./epub.js";

/** A minimal EPUB: the manifest lists chapters out of order; the spine decides. */
export function buildEpub(chapters: { id: string; html: string }[], spine: string[]): Uint8Array {
  const manifest = chapters.map((c) => `<item id="${c.id}" href="text/${c.id}.xhtml" media-type="application/xhtml+xml"/>`).join("");
  const opf = `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Zwei Kapitel</dc:title><dc:language>de-DE</dc:language></metadata><manifest>${manifest}</manifest><spine>${spine.map((id) => `<itemref idref="${id}"/>`).join("")}</spine></package>`;
  const files: Record<string, Uint8Array> = {
    mimetype: strToU8("application/epub+zip"),
    "META-INF/container.xml": strToU8(
      `<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`,
    ),
    "OEBPS/content.opf": strToU8(opf),
  };
  for (const c of chapters) files[`OEBPS/text/${c.id}.xhtml`] = strToU8(c.html);
  return zipSync(files);
}

const page = (body: string) =>
  `<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title><style>p{}</style></head><body>${body}</body></html>`;

describe("parseEpub", () => {
  it("reads spine order, block structure, entities and metadata", () => {
    const epub = buildEpub(
      [
        { id: "c2", html: page("<h1>Kapitel 2</h1><p>Zweiter &amp; letzter.</p>") },
        { id: "c1", html: page("<h1>Kapitel 1</h1><p>Erster <em>Absatz</em>.</p><p>Noch einer.</p>") },
      ],
      ["c1", "c2"],
    );
    const book = parseEpub(epub);
    expect(book.entries).toEqual(["OEBPS/text/c1.xhtml", "OEBPS/text/c2.xhtml"]);
    expect(book.title).toBe("Zwei Kapitel");
    expect(book.language).toBe("de");
    expect(epubText(book)).toBe("Kapitel 1\nErster Absatz.\nNoch einer.\n\nKapitel 2\nZweiter & letzter.");
  });

  it("explains what is wrong with a broken EPUB", () => {
    expect(() => parseEpub(new Uint8Array([0x50, 0x4b, 3, 4, 1, 2, 3]))).toThrow(/not a readable zip archive/);
    const noContainer = zipSync({ mimetype: strToU8("application/epub+zip") });
    expect(() => parseEpub(noContainer)).toThrow(/missing entry META-INF\/container.xml/);
    expect(() => parseEpub(buildEpub([{ id: "a", html: page("x") }], ["nope"]))).toThrow(/spine item "nope" is not in the manifest/);
  });
});
