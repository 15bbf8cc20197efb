// The conversation: questions go to the chat endpoint as a stream, answers are drawn as they
// arrive, then redrawn with their verified citations. A stored conversation is drawn again
// from the API, and its last answer can be written again.

import * as api from "./api.js";
import { el, icon } from "./dom.js";
import { bind, bindLabel, t } from "./i18n.js";
import { renderAnswer } from "./markdown.js";
import { locationLabel } from "./location.js";
import { describe } from "./messages.js";

// The language model's failures (core/messages.py), and the stores' behind it.
const LLM_CODES = new Set([
  "upstream_failed",
  "upstream_unreachable",
  "upstream_status",
  "upstream_status_key",
  "upstream_status_forbidden",
  "upstream_status_model",
  "upstream_rate_limited",
  "upstream_not_event_stream",
  "upstream_not_json",
  "upstream_stream_broken",
  "upstream_stream_incomplete",
  "upstream_failed_mid_answer",
  "upstream_timeout",
  "local_model_failed",
  "backend_unavailable",
]);

export class Chat {
  constructor({ passage, onError, documents, onConversation, filter }) {
    this.passage = passage;
    this.onError = onError;
    this.documents = documents;
    this.onConversation = onConversation;
    this.filter = filter;
    this.collection = null;
    this.conversationId = null;
    // The documents this chat searches; null: all of them.
    this.documentIds = null;
    this.history = [];
    this.controller = null;
    this.hasDocuments = false;

    this.thread = document.getElementById("thread");
    this.form = document.getElementById("composer");
    this.input = document.getElementById("question");
    this.sendButton = document.getElementById("send");
    this.stopButton = document.getElementById("stop");
    this.wire();
  }

  wire() {
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => this.fit());
    this.stopButton.addEventListener("click", () => this.stop());
    document.getElementById("new-chat").addEventListener("click", () => {
      this.reset();
      this.input.focus();
    });
  }

  fit() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 220)}px`;
  }

  setCollection(name) {
    this.collection = name;
    this.loaded = false;
    // Not forgotten: a reload comes back to the chat last open in this knowledge base.
    this.reset(false);
  }

  /** `documents` of the current knowledge base, once they have been fetched. */
  setDocuments(documents) {
    const had = this.hasDocuments;
    const first = !this.loaded;
    this.loaded = true;
    this.hasDocuments = documents.some((d) => d.status === "ready" || d.status === "searchable");
    this.hasAnyDocument = documents.length > 0;
    if (first || had !== this.hasDocuments) this.renderEmpty();
  }

  /** A new, empty chat; `forget`: the one open before is no longer the one to come back to. */
  reset(forget = true) {
    this.stop();
    this.conversationId = null;
    this.documentIds = null;
    this.filter.set(null);
    this.history = [];
    this.thread.replaceChildren();
    this.renderEmpty();
    this.passage.close(false);
    if (forget) this.onConversation(null);
  }

  /** A stored conversation of the current knowledge base, drawn from the API. `quiet`: one
   * remembered by this browser, whose deletion elsewhere needs no message. */
  async open(id, quiet = false) {
    if (id === this.conversationId) return;
    const collection = this.collection;
    let conversation;
    try {
      conversation = await api.get(this.conversationPath(id));
    } catch (error) {
      if (error.status === 404) {
        this.reset();
        if (!quiet) this.onError({ code: "gone", message: t("conversationGone") });
      } else this.onError(error);
      return;
    }
    if (collection !== this.collection) return;
    this.stop();
    this.passage.close(false);
    this.conversationId = conversation.id;
    this.documentIds = conversation.document_ids;
    this.filter.set(this.documentIds);
    this.history = [];
    this.thread.replaceChildren();
    for (const message of conversation.messages) {
      if (message.role === "user") this.thread.append(userMessage(message.content));
      else if (message.role === "assistant") {
        const reply = this.newReply();
        reply.restore(message);
        this.thread.append(reply.node);
      }
    }
    this.renderEmpty();
    this.thread.lastElementChild?.scrollIntoView({ block: "end" });
    this.onConversation(conversation.id);
  }

  /** The filter's choice: kept with the open conversation at once, so a reload keeps it. */
  async limitTo(ids) {
    this.documentIds = ids;
    if (!this.conversationId) return;
    try {
      await api.patch(this.conversationPath(), { document_ids: ids ?? [] });
    } catch (error) {
      this.onError(error);
    }
  }

  conversationPath(id = this.conversationId) {
    return `${api.collectionPath(this.collection)}/conversations/${encodeURIComponent(id)}`;
  }

  newReply() {
    return new Reply(this.collection, this.passage, this.documents, () => this.regenerate());
  }

  renderEmpty() {
    if (this.thread.querySelector(".msg")) return;
    let title;
    let hint;
    if (!this.collection) {
      title = bind(el("h1"), "emptyNoCollectionTitle");
      hint = bind(el("p"), "emptyNoCollection");
    } else if (this.loaded && !this.hasAnyDocument) {
      title = bind(el("h1"), "emptyNoDocsTitle", { name: this.collection });
      hint = bind(el("p"), "emptyNoDocs");
    } else {
      title = bind(el("h1"), "emptyTitle", { name: this.collection });
      hint = bind(el("p"), "emptyHint");
    }
    this.thread.replaceChildren(
      el("div", { class: "empty" }, el("div", { class: "empty-mark", "aria-hidden": "true" }, "知"), title, hint),
    );
    this.input.disabled = !this.collection;
    this.sendButton.disabled = !this.collection;
  }

  submit() {
    const question = this.input.value.trim();
    if (!question || !this.collection || this.controller) return;
    this.input.value = "";
    this.fit();
    this.ask(question);
  }

  stop() {
    this.controller?.abort();
  }

  busy(on) {
    this.sendButton.hidden = on;
    this.stopButton.hidden = !on;
    if (!on && document.activeElement === this.stopButton) this.input.focus();
  }

  async ask(question) {
    this.thread.querySelector(".empty")?.remove();
    this.thread.append(userMessage(question));
    const reply = this.newReply();
    this.thread.append(reply.node);
    reply.node.scrollIntoView({ block: "end", behavior: "smooth" });

    const collection = this.collection;
    const messages = this.conversationId
      ? [{ role: "user", content: question }]
      : [...this.history, { role: "user", content: question }];
    const body = { messages, stream: true, document_ids: this.documentIds ?? [] };
    if (this.conversationId) body.conversation_id = this.conversationId;
    const ok = await this.stream(`${api.collectionPath(collection)}/chat`, body, reply, (data) => {
      if (collection !== this.collection) return;
      this.history.push({ role: "user", content: question }, { role: "assistant", content: reply.text });
      this.conversationId = data.conversation_id ?? this.conversationId;
      this.onConversation(this.conversationId);
    });
    // A question that got no answer stays in the box, to send again.
    if (!ok && !this.input.value.trim()) {
      this.input.value = question;
      this.fit();
    }
  }

  /** The last question answered again; the new answer takes the old one's place. */
  async regenerate() {
    if (!this.conversationId || this.controller) return;
    const last = [...this.thread.querySelectorAll(".msg-assistant")].pop();
    const reply = this.newReply();
    if (last) last.replaceWith(reply.node);
    else this.thread.append(reply.node);
    const ok = await this.stream(`${this.conversationPath()}/regenerate`, { stream: true }, reply, () => {});
    // The stored answer stays until a new one is complete, so a failed or stopped try may be
    // tried again.
    if (!ok) reply.offerRegenerate();
    reply.node.querySelector(".regenerate")?.focus();
  }

  /** Streams one answer into `reply`; resolves true once it is complete. */
  async stream(path, body, reply, onDone) {
    const controller = new AbortController();
    this.controller = controller;
    this.busy(true);
    const started = performance.now();
    let complete = false;
    try {
      for await (const { event, data } of api.events(path, body, controller.signal)) {
        if (event === "delta") reply.delta(data.text);
        else if (event === "citations") reply.cite(data);
        else if (event === "error") reply.fail(data.error);
        else if (event === "done") {
          reply.done(data, (performance.now() - started) / 1000);
          complete = true;
          onDone(data);
        }
        this.follow(reply.node);
      }
      if (!reply.finished) reply.fail({ code: "unreachable", message: "" });
    } catch (error) {
      if (error.name === "AbortError") reply.stopped();
      else {
        reply.fail(error);
        if (error.unreachable) this.onError(error);
      }
    } finally {
      if (this.controller === controller) this.controller = null;
      this.busy(false);
    }
    return complete;
  }

  /** Keeps the newest text in view unless the reader has scrolled up to read. */
  follow(node) {
    const scroller = this.thread;
    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 160;
    if (nearBottom) node.scrollIntoView({ block: "end" });
  }
}

function userMessage(question) {
  return el(
    "article",
    { class: "msg msg-user" },
    el("h2", { class: "visually-hidden", "data-i18n": "you" }, t("you")),
    el("div", { class: "bubble" }, question),
  );
}

class Reply {
  constructor(collection, passage, documents, regenerate) {
    this.collection = collection;
    this.passage = passage;
    this.documents = documents;
    this.regenerate = regenerate;
    this.text = "";
    this.citations = new Map();
    this.chunks = new Map();
    this.finished = false;

    this.answer = el("div", { class: "answer markdown" });
    this.status = el(
      "div",
      { class: "thinking" },
      el("span", { class: "dots", "aria-hidden": "true" }, el("i"), el("i"), el("i")),
      bind(el("span"), "thinking"),
    );
    this.notice = el("div", { class: "notice", hidden: true });
    this.sources = el("div", { class: "sources", hidden: true });
    this.actions = el("div", { class: "msg-actions", hidden: true });
    this.body = el("div", { class: "msg-body" }, this.notice, this.status, this.answer, this.sources, this.actions);
    this.node = el(
      "article",
      { class: "msg msg-assistant is-streaming", "aria-busy": "true" },
      el("div", { class: "avatar", "aria-hidden": "true" }, "知"),
      el("h2", { class: "visually-hidden", "data-i18n": "assistant" }, t("assistant")),
      this.body,
    );
  }

  delta(text) {
    this.status.remove();
    this.text += text;
    this.draw();
  }

  cite(data) {
    this.text = data.answer;
    this.citations = new Map(data.citations.map((c) => [c.n, c]));
    this.chunks = new Map(data.chunks.map((c) => [c.n, c]));
    this.status.remove();
    this.draw();
    this.drawSources();
  }

  done(data, seconds) {
    this.finished = true;
    this.node.classList.remove("is-streaming");
    this.node.removeAttribute("aria-busy");
    if (data.abstained) {
      this.node.classList.add("is-abstained");
      this.notice.hidden = false;
      this.notice.replaceChildren(
        icon("search-off"),
        el("div", {}, bind(el("strong"), "notInDocuments"), bind(el("p"), "abstainedHint")),
      );
    }
    this.drawActions(data.backend, seconds);
  }

  /** A stored answer: its text and verified citations (the passages' texts are not kept). */
  restore(message) {
    this.finished = true;
    this.text = message.content;
    this.citations = new Map(message.citations.map((c) => [c.n, c]));
    this.status.remove();
    this.node.classList.remove("is-streaming");
    this.node.removeAttribute("aria-busy");
    this.draw();
    this.drawSources();
    this.drawActions(null, null);
  }

  stopped() {
    this.finished = true;
    this.status.remove();
    this.node.classList.remove("is-streaming");
    this.node.classList.add("is-stopped");
    this.node.removeAttribute("aria-busy");
    this.answer.after(bind(el("p", { class: "stopped-note" }), "stopped"));
    if (this.text) this.drawActions(null, null, false);
  }

  fail(error) {
    this.finished = true;
    this.status.remove();
    this.node.classList.remove("is-streaming");
    this.node.classList.add("is-error");
    this.node.removeAttribute("aria-busy");
    const unreachable = error.code === "unreachable";
    let title = "errorTitle";
    if (unreachable) title = "serviceDownTitle";
    else if (LLM_CODES.has(error.code)) title = "llmFailedTitle";
    this.notice.hidden = false;
    this.notice.setAttribute("role", "alert");
    this.notice.replaceChildren(
      icon("alert"),
      el(
        "div",
        {},
        bind(el("strong"), title),
        unreachable
          ? bind(el("p", { class: "error-text" }), "serviceDownHint")
          : el("p", { class: "error-text" }, describe(error)),
        unreachable ? null : el("code", { class: "error-code" }, error.code),
      ),
    );
  }

  offerRegenerate() {
    if (this.actions.querySelector(".regenerate")) return;
    this.actions.hidden = false;
    this.actions.prepend(this.regenerateButton());
  }

  regenerateButton() {
    return el(
      "button",
      { type: "button", class: "ghost-button regenerate", onclick: () => this.regenerate() },
      icon("refresh"),
      bind(el("span"), "regenerate"),
    );
  }

  draw() {
    this.answer.replaceChildren(renderAnswer(this.text, (n) => this.citationButton(n)));
  }

  citationButton(n) {
    const citation = this.citations.get(n);
    const button = el(
      "button",
      { type: "button", class: "cite", dataset: { n: String(n) } },
      String(n),
    );
    if (!citation) {
      button.classList.add("is-pending");
      button.disabled = !this.finished && !this.chunks.size;
      bindLabel(button, "citation", { n });
      if (this.chunks.has(n)) button.addEventListener("click", () => this.open(n, button));
      return button;
    }
    if (!citation.verified) {
      button.classList.add("is-unverified");
      button.append(icon("alert-small"));
      bindLabel(button, "unverifiedTitle");
    } else {
      bindLabel(button, "citation", { n });
    }
    button.addEventListener("click", () => this.open(n, button));
    return button;
  }

  open(n, opener) {
    for (const active of this.node.ownerDocument.querySelectorAll(".cite.is-active, .source.is-active")) {
      active.classList.remove("is-active");
    }
    opener.classList.add("is-active");
    const citation = this.citations.get(n);
    const chunk = this.chunks.get(n);
    const documentId = citation?.document_id ?? chunk?.document_id;
    const doc = this.documents().find((d) => d.id === documentId);
    this.passage.show({ n, citation, chunk, collection: this.collection, document: doc }, opener);
  }

  drawSources() {
    const cited = [...this.citations.values()].sort((a, b) => a.n - b.n);
    if (!cited.length) return;
    this.sources.hidden = false;
    this.sources.replaceChildren(
      bind(el("h3", { class: "sources-title" }), "sources"),
      el(
        "ol",
        { class: "source-list" },
        ...cited.map((c) => {
          const doc = this.documents().find((d) => d.id === c.document_id);
          const page = locationLabel(
            { mediaType: doc?.media_type, page: c.page, headingPath: this.chunks.get(c.n)?.heading_path },
            "source-page",
          );
          const button = el(
            "button",
            { type: "button", class: `source${c.verified ? "" : " is-unverified"}`, dataset: { n: String(c.n) } },
            el("span", { class: "source-n" }, String(c.n)),
            el("span", { class: "source-name" }, c.filename),
            page,
            this.chunks.get(c.n)?.flags?.includes("ocr") ? bind(el("span", { class: "badge badge-ocr" }), "ocrMark") : null,
            c.verified ? null : bind(el("span", { class: "badge badge-unverified" }), "unverified"),
          );
          button.addEventListener("click", () => this.open(c.n, button));
          return el("li", {}, button);
        }),
      ),
    );
  }

  drawActions(backend, seconds, stored = true) {
    this.actions.hidden = false;
    const copy = el("button", { type: "button", class: "ghost-button copy" }, icon("copy"), bind(el("span"), "copy"));
    copy.addEventListener("click", async () => {
      await copyText(this.text);
      const label = copy.querySelector("span");
      bind(label, "copied");
      copy.classList.add("is-done");
      setTimeout(() => {
        bind(label, "copy");
        copy.classList.remove("is-done");
      }, 1600);
    });
    const meta = el("span", { class: "msg-meta" });
    if (backend) meta.append(bind(el("span"), "backendLabel", { backend }));
    if (seconds !== null) meta.append(el("span", { class: "dot-sep", "aria-hidden": "true" }, "·"), bind(el("span"), "elapsed", { s: seconds.toFixed(1) }));
    // A stopped answer was never stored: answering again would replace the one before it.
    const again = stored ? this.regenerateButton() : null;
    this.actions.replaceChildren(...[copy, again, meta].filter(Boolean));
  }
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // No clipboard API outside a secure context (plain http on a LAN address): use a selection.
  }
  const area = el("textarea", { class: "visually-hidden", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}
