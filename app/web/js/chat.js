// The conversation: questions go to the chat endpoint as a stream, answers are drawn as they
// arrive, then redrawn with their verified citations.

import * as api from "./api.js";
import { el, icon } from "./dom.js";
import { bind, bindLabel, t } from "./i18n.js";
import { renderAnswer } from "./markdown.js";
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
  constructor({ passage, onError, documents }) {
    this.passage = passage;
    this.onError = onError;
    this.documents = documents;
    this.collection = null;
    this.conversationId = null;
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
    this.reset();
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

  reset() {
    this.stop();
    this.conversationId = null;
    this.history = [];
    this.thread.replaceChildren();
    this.renderEmpty();
    this.passage.close(false);
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
    this.thread.append(
      el(
        "article",
        { class: "msg msg-user" },
        el("h2", { class: "visually-hidden", "data-i18n": "you" }, t("you")),
        el("div", { class: "bubble" }, question),
      ),
    );
    const reply = new Reply(this.collection, this.passage, this.documents);
    this.thread.append(reply.node);
    reply.node.scrollIntoView({ block: "end", behavior: "smooth" });

    const collection = this.collection;
    const messages = this.conversationId
      ? [{ role: "user", content: question }]
      : [...this.history, { role: "user", content: question }];
    const body = { messages, stream: true };
    if (this.conversationId) body.conversation_id = this.conversationId;

    const controller = new AbortController();
    this.controller = controller;
    this.busy(true);
    const started = performance.now();
    try {
      for await (const { event, data } of api.events(
        `${api.collectionPath(collection)}/chat`,
        body,
        controller.signal,
      )) {
        if (event === "delta") reply.delta(data.text);
        else if (event === "citations") reply.cite(data);
        else if (event === "error") reply.fail(data.error);
        else if (event === "done") {
          reply.done(data, (performance.now() - started) / 1000);
          if (collection === this.collection) {
            this.conversationId = data.conversation_id ?? this.conversationId;
            this.history.push({ role: "user", content: question }, { role: "assistant", content: reply.text });
          }
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
  }

  /** Keeps the newest text in view unless the reader has scrolled up to read. */
  follow(node) {
    const scroller = this.thread;
    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 160;
    if (nearBottom) node.scrollIntoView({ block: "end" });
  }
}

class Reply {
  constructor(collection, passage, documents) {
    this.collection = collection;
    this.passage = passage;
    this.documents = documents;
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

  stopped() {
    this.finished = true;
    this.status.remove();
    this.node.classList.remove("is-streaming");
    this.node.classList.add("is-stopped");
    this.node.removeAttribute("aria-busy");
    this.answer.after(bind(el("p", { class: "stopped-note" }), "stopped"));
    if (this.text) this.drawActions(null, null);
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
          const page = c.page ? bind(el("span", { class: "source-page" }), "pageShort", { n: c.page }) : null;
          const button = el(
            "button",
            { type: "button", class: `source${c.verified ? "" : " is-unverified"}`, dataset: { n: String(c.n) } },
            el("span", { class: "source-n" }, String(c.n)),
            el("span", { class: "source-name" }, c.filename),
            page,
            c.verified ? null : bind(el("span", { class: "badge badge-unverified" }), "unverified"),
          );
          button.addEventListener("click", () => this.open(c.n, button));
          return el("li", {}, button);
        }),
      ),
    );
  }

  drawActions(backend, seconds) {
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
    this.actions.replaceChildren(copy, meta);
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
