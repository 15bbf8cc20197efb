// The side panel that shows a cited passage: its document, page, the quoted sentences marked
// in the passage text, and a link to the page itself in the browser's PDF viewer.

import * as api from "./api.js";
import { el, icon } from "./dom.js";
import { bind } from "./i18n.js";
import { headingTrail, locationLabel } from "./location.js";

export class PassagePanel {
  constructor() {
    this.panel = document.getElementById("passage");
    this.content = document.getElementById("passage-content");
    this.opener = null;
    document.getElementById("passage-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !this.panel.hidden) this.close();
    });
  }

  show({ n, citation, chunk, collection, document: doc }, opener) {
    this.opener = opener;
    const filename = citation?.filename ?? chunk?.filename ?? "";
    const page = citation?.page ?? chunk?.page ?? null;
    const documentId = citation?.document_id ?? chunk?.document_id;
    const isPdf = doc ? doc.media_type === "application/pdf" : /\.pdf$/i.test(filename);

    const header = el(
      "div",
      { class: "passage-head" },
      el("span", { class: "passage-n" }, String(n)),
      el("h2", { id: "passage-title", tabindex: "-1" }, filename),
    );
    const facts = el("div", { class: "passage-facts" });
    const where = locationLabel(
      { mediaType: doc?.media_type, page, headingPath: chunk?.heading_path, long: true },
      "fact",
    );
    if (where) facts.append(where);
    if (citation) {
      const verified = citation.verified;
      const badge = bind(
        el("span", { class: `badge ${verified ? "badge-ready" : "badge-unverified"}` }),
        verified ? "verified" : "unverified",
      );
      badge.prepend(icon(verified ? "check" : "alert-small"));
      facts.append(badge);
      if (!verified) facts.append(bind(el("p", { class: "passage-warning" }), "unverifiedTitle"));
    }
    if (chunk?.flags?.includes("ocr")) {
      facts.append(bind(el("span", { class: "badge badge-ocr" }), "ocrMark"), bind(el("p", { class: "passage-note" }), "ocrHint"));
    }
    const trail = chunk?.heading_path?.length
      ? el("p", { class: "passage-trail" }, ...headingTrail(chunk.heading_path))
      : null;

    const quote = citation?.quote ?? "";
    const body = el("blockquote", { class: "passage-text" });
    if (chunk?.text) body.append(...highlighted(chunk.text, citedSpans(citation, n, opener), quote));
    else body.append(el("mark", {}, quote));

    const actions = el("div", { class: "passage-actions" });
    if (documentId && collection) {
      const label = isPdf && page ? bind(el("span"), "openPage", { n: page }) : bind(el("span"), "openFile");
      const href = api.documentFileUrl(collection, documentId) + (isPdf && page ? `#page=${page}` : "");
      const link = el(
        "a",
        { class: "button-secondary passage-link", href, target: "_blank", rel: "noopener" },
        icon("external"),
        label,
      );
      link.addEventListener("click", (e) => api.openWithKey(e, collection, documentId, href));
      actions.append(link);
    }

    this.content.replaceChildren(header, facts, trail ?? "", actions, body);
    this.panel.hidden = false;
    document.body.classList.add("passage-open");
    this.content.querySelector("mark")?.scrollIntoView({ block: "center" });
    document.getElementById("passage-title").focus({ preventScroll: true });
  }

  close(restoreFocus = true) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    document.body.classList.remove("passage-open");
    for (const active of document.querySelectorAll(".cite.is-active, .source.is-active")) {
      active.classList.remove("is-active");
    }
    if (restoreFocus && this.opener?.isConnected) this.opener.focus();
  }
}

/** The spans to mark: the one the opened [n] cites (a citation has a span per use of [n], in
 * the answer's order), or all of them when it was opened from elsewhere (the sources list) or
 * the answer's [n] buttons do not pair with its spans. */
function citedSpans(citation, n, opener) {
  const spans = citation?.spans ?? [];
  const uses = [...(opener?.closest(".answer")?.querySelectorAll(`button.cite[data-n="${n}"]`) ?? [])];
  const use = uses.indexOf(opener);
  return use >= 0 && uses.length === spans.length ? [spans[use]] : spans;
}

/** The passage as text nodes, with the cited sentences wrapped in <mark>: at their spans,
 * which count code points as the service does (a JS index counts UTF-16 units), else where
 * the quote is found. */
function highlighted(text, spans, quote) {
  const chars = Array.from(text);
  const marked = (spans ?? [])
    .filter(([start, end]) => start >= 0 && start < end && end <= chars.length)
    .sort((a, b) => a[0] - b[0]);
  if (!marked.length) return found(text, quote);
  const parts = [];
  let last = 0;
  for (const [start, end] of marked) {
    if (start < last) continue;
    parts.push(chars.slice(last, start).join(""), el("mark", {}, chars.slice(start, end).join("")));
    last = end;
  }
  parts.push(chars.slice(last).join(""));
  return parts;
}

/** The passage with the quote marked where it is found. Whitespace may differ between the two
 * (line breaks in the passage; the quote joins them, in Chinese without a space), so the match
 * tolerates it between any two characters. */
function found(text, quote) {
  const chars = Array.from(quote.replace(/\s+/g, ""));
  if (!chars.length) return [text];
  const pattern = new RegExp(chars.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\s*"), "u");
  const match = pattern.exec(text);
  if (!match) return [el("mark", {}, quote), el("span", { class: "passage-rest" }, text)];
  return [
    text.slice(0, match.index),
    el("mark", {}, match[0]),
    text.slice(match.index + match[0].length),
  ];
}
