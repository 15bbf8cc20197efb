// Where a citation points, in the reader's language: a PDF's page, a deck's slide (the slide
// number is the chunk's page), a sheet's or CSV file's rows (the loaders end the heading path
// with "rows 2–41" or "row 7": ingest/loaders/table_rows.py), else nothing but the trail.

import { el } from "./dom.js";
import { bind } from "./i18n.js";

const PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
const ROWS = /^rows? (\d+)(?:–(\d+))?$/;

/** [i18n key, args] for a run of rows named as the loaders name it, or null. */
function rowsKey(part, sheet) {
  const match = ROWS.exec(part ?? "");
  if (!match) return null;
  const [, first, last] = match;
  const single = !last || last === first;
  if (sheet) return single ? ["sheetRow", { sheet, n: first }] : ["sheetRows", { sheet, first, last }];
  return single ? ["rowShort", { n: first }] : ["rowsShort", { first, last }];
}

/**
 * An element saying where a cited chunk is, or null: "p. 3", "slide 3", "库存 · rows 2–41"
 * (`long` gives "Page 3", "Slide 3" for the passage panel).
 */
export function locationLabel({ mediaType, page, headingPath, long = false }, cls) {
  const span = el("span", { class: cls });
  if (page) {
    const slide = mediaType === PPTX;
    return bind(span, slide ? (long ? "slideOf" : "slideShort") : long ? "pageOf" : "pageShort", { n: page });
  }
  const path = headingPath ?? [];
  const rows = rowsKey(path.at(-1), path.length > 1 ? path[0] : "");
  return rows ? bind(span, ...rows) : null;
}

/** A heading path as " › "-joined text, a run of rows in the reader's language. */
export function headingTrail(headingPath) {
  const nodes = [];
  for (const [i, part] of headingPath.entries()) {
    if (i) nodes.push(" › ");
    const rows = rowsKey(part, "");
    nodes.push(rows ? bind(el("span"), ...rows) : part);
  }
  return nodes;
}
