// Answers are Markdown written by a model that read untrusted documents: raw HTML in them is
// shown as text, the rendered markup is sanitized, and [n] markers become buttons built with
// DOM APIs.

import { Marked } from "../vendor/marked/marked.esm.js";
import DOMPurify from "../vendor/dompurify/purify.es.js";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const markdown = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // `<img onerror=…>` in an answer is something the model quoted, not markup to build.
    html: ({ text }) => escapeHtml(text),
    // Images would load from anywhere the text says; show their description instead.
    image: ({ text, href }) => escapeHtml(text || href),
  },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

const SANITIZE = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "img", "svg", "math"],
  FORBID_ATTR: ["style", "class", "id"],
};

const MARKER = /\[(\d{1,3})\]/g;

/** A sanitized fragment for `text`; `makeCitation(n)` builds the element that replaces each
 * [n] outside code. */
export function renderAnswer(text, makeCitation) {
  const fragment = DOMPurify.sanitize(markdown.parse(text), SANITIZE);
  const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) =>
      node.parentElement?.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode);
  for (const node of texts) {
    const value = node.nodeValue;
    if (!value.includes("[")) continue;
    const parts = [];
    let last = 0;
    // matchAll works on a copy of the pattern, so its lastIndex never leaks between nodes.
    for (const match of value.matchAll(MARKER)) {
      const before = value.slice(last, match.index).replace(/\s$/, "");
      if (before) parts.push(document.createTextNode(before));
      parts.push(makeCitation(Number(match[1])));
      last = match.index + match[0].length;
    }
    if (!parts.length) continue;
    if (last < value.length) parts.push(document.createTextNode(value.slice(last)));
    node.replaceWith(...parts);
  }
  return fragment;
}
