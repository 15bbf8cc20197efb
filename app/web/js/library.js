// The sidebar: knowledge bases (with their settings, renamed or deleted here), their documents,
// and uploads followed from the first byte sent to the document being ready (or failed, with
// the reason, and retried from here).

import * as api from "./api.js";
import { el, formatSize, icon } from "./dom.js";
import { EvaluationPanel } from "./evaluations.js";
import { bind, bindLabel, t } from "./i18n.js";
import { describe, failureOf } from "./messages.js";

const COLLECTION_STORAGE = "zhiku.collection";
const ACTIVE = new Set(["queued", "processing", "searchable"]);
const POLL_MS = 800;
const PARALLEL_UPLOADS = 2;
// Formats whose documents have pages a reader can open at; others count one "page" apiece.
const PAGED = new Set(["application/pdf"]);
const PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation";

/** What to show for a refused change: a key that may read but not write gets its own words. */
const messageOf = (error) => (error.status === 403 ? t("keyForbidden") : describe(error));

export class Library {
  constructor({ onCollection, onRenamed, onDocuments, onError }) {
    this.onCollection = onCollection;
    this.onRenamed = onRenamed;
    this.onDocuments = onDocuments;
    this.onError = onError;
    this.collections = [];
    this.current = null;
    this.documents = [];
    // Files on their way in, keyed by a local id: {name, size, pct, job, documentId, error}.
    this.uploads = new Map();
    this.nextUpload = 0;
    this.queue = [];
    this.running = 0;
    this.pollTimer = null;
    // The earliest finish each job has been promised, so a later, slower pace cannot make
    // the estimate climb (a job waits between its stages).
    this.finishBy = new Map();

    this.select = document.getElementById("collection-select");
    this.list = document.getElementById("doc-list");
    this.count = document.getElementById("doc-count");
    this.form = document.getElementById("new-collection-form");
    this.nameInput = document.getElementById("new-collection-name");
    this.formError = document.getElementById("new-collection-error");
    this.fileInput = document.getElementById("file-input");
    this.dropZone = document.getElementById("drop-zone");
    this.settingsButton = document.getElementById("collection-settings");
    this.settingsForm = document.getElementById("collection-settings-form");
    this.settingsError = document.getElementById("kb-settings-error");
    this.evaluations = new EvaluationPanel({ onError });
    this.wire();
  }

  wire() {
    this.select.addEventListener("change", () => this.choose(this.select.value));
    document.getElementById("new-collection").addEventListener("click", () => this.openForm());
    document.getElementById("cancel-new-collection").addEventListener("click", () => this.closeForm());
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.create(this.nameInput.value.trim());
    });
    this.form.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.closeForm();
    });
    this.settingsButton.addEventListener("click", () =>
      this.settingsForm.hidden ? this.openSettings() : this.closeSettings(),
    );
    document.getElementById("cancel-collection-settings").addEventListener("click", () => this.closeSettings());
    document.getElementById("delete-collection").addEventListener("click", () => this.deleteCollection());
    this.settingsForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveSettings();
    });
    this.settingsForm.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.closeSettings();
    });
    this.fileInput.addEventListener("change", () => {
      this.add([...this.fileInput.files]);
      this.fileInput.value = "";
    });
    for (const name of ["dragenter", "dragover"]) {
      this.dropZone.addEventListener(name, (e) => {
        e.preventDefault();
        this.dropZone.classList.add("dragging");
      });
    }
    this.dropZone.addEventListener("dragleave", (e) => {
      if (!this.dropZone.contains(e.relatedTarget)) this.dropZone.classList.remove("dragging");
    });
    this.dropZone.addEventListener("drop", (e) => {
      e.preventDefault();
      this.dropZone.classList.remove("dragging");
      this.add([...e.dataTransfer.files]);
    });
    // A file dropped anywhere else would make the browser navigate away from the chat.
    for (const name of ["dragover", "drop"]) window.addEventListener(name, (e) => e.preventDefault());
  }

  /** `wanted`: a knowledge base named by the address, before the one used last. */
  async load(wanted = null) {
    this.collections = await api.get("/api/collections");
    wanted = wanted ?? this.current ?? localStorage.getItem(COLLECTION_STORAGE);
    const names = this.collections.map((c) => c.name);
    this.renderCollections();
    if (!names.length) this.openForm();
    await this.choose(names.includes(wanted) ? wanted : (names[0] ?? null));
  }

  renderCollections() {
    this.select.replaceChildren(
      ...this.collections.map((c) => el("option", { value: c.name }, c.name)),
    );
    this.select.disabled = !this.collections.length;
    this.settingsButton.disabled = !this.collections.length;
    if (!this.collections.length) this.select.append(bind(el("option", { value: "" }), "noCollections"));
    if (this.current) this.select.value = this.current;
  }

  async choose(name) {
    const changed = name !== this.current;
    this.current = name;
    if (name) localStorage.setItem(COLLECTION_STORAGE, name);
    this.select.value = name ?? "";
    document.body.classList.toggle("no-collection", !name);
    if (changed) {
      this.closeSettings(false);
      this.documents = [];
      this.onCollection(name);
      this.list.replaceChildren();
    }
    if (name) await this.refresh();
    else this.renderDocuments();
  }

  openForm() {
    this.form.hidden = false;
    this.formError.textContent = "";
    this.nameInput.focus();
  }

  closeForm() {
    this.form.hidden = true;
    this.nameInput.value = "";
    document.getElementById("new-collection").focus();
  }

  async create(name) {
    if (!name) return;
    try {
      await api.post("/api/collections", { name });
    } catch (error) {
      this.formError.textContent = messageOf(error);
      if (error.unreachable) this.onError(error);
      return;
    }
    this.form.hidden = true;
    this.nameInput.value = "";
    this.current = null;
    this.collections = await api.get("/api/collections");
    this.renderCollections();
    await this.choose(name);
  }

  async openSettings() {
    const name = this.current;
    if (!name) return;
    let shown;
    try {
      shown = await api.get(`${api.collectionPath(name)}/settings`);
    } catch (error) {
      this.onError(error);
      return;
    }
    this.form.hidden = true;
    const nameInput = document.getElementById("kb-name");
    const topK = document.getElementById("kb-top-k");
    nameInput.value = name;
    topK.value = shown.stored.top_k ?? "";
    topK.placeholder = String(shown.service.default_top_k);
    bind(document.getElementById("kb-top-k-hint"), "kbTopKHint", { n: shown.service.default_top_k });
    document.getElementById("kb-backend").textContent = shown.service.backend;
    const thresholds = shown.service.abstention_thresholds;
    bind(document.getElementById("kb-thresholds"), "kbThresholdsValue", {
      en: thresholds.en.toFixed(2),
      zh: thresholds.zh.toFixed(2),
    });
    this.settingsError.textContent = "";
    this.settingsForm.hidden = false;
    this.settingsButton.setAttribute("aria-expanded", "true");
    nameInput.focus();
    await this.evaluations.show(name);
  }

  closeSettings(restoreFocus = true) {
    if (this.settingsForm.hidden) return;
    this.evaluations.hide();
    this.settingsForm.hidden = true;
    this.settingsButton.setAttribute("aria-expanded", "false");
    if (restoreFocus) this.settingsButton.focus();
  }

  async saveSettings() {
    const name = this.current;
    const wanted = document.getElementById("kb-name").value.trim();
    const topK = document.getElementById("kb-top-k").value.trim();
    // The stored settings are replaced whole: keep those this form does not show (a
    // threshold fitted by `zhiku eval --calibrate`).
    const stored = this.collections.find((c) => c.name === name)?.settings ?? {};
    const body = { settings: { ...stored, top_k: topK ? Number(topK) : null } };
    if (wanted && wanted !== name) body.name = wanted;
    let updated;
    try {
      updated = await api.patch(api.collectionPath(name), body);
    } catch (error) {
      this.settingsError.textContent = messageOf(error);
      if (error.unreachable) this.onError(error);
      return;
    }
    this.closeSettings();
    this.collections = this.collections.map((c) => (c.name === name ? updated : c));
    if (updated.name === name) return;
    this.current = updated.name;
    localStorage.setItem(COLLECTION_STORAGE, updated.name);
    this.collections = await api.get("/api/collections");
    this.renderCollections();
    this.onRenamed(updated.name);
  }

  async deleteCollection() {
    const name = this.current;
    if (!name || !window.confirm(t("confirmDeleteCollection", { name }))) return;
    try {
      await api.del(api.collectionPath(name));
    } catch (error) {
      this.settingsError.textContent = messageOf(error);
      if (error.unreachable) this.onError(error);
      return;
    }
    this.closeSettings(false);
    localStorage.removeItem(COLLECTION_STORAGE);
    this.current = null;
    await this.load();
    this.select.focus();
  }

  async retry(doc) {
    try {
      const job = await api.post(`${api.collectionPath(this.current)}/documents/${encodeURIComponent(doc.id)}/retry`);
      const key = `u${this.nextUpload++}`;
      const upload = { key, collection: this.current, name: doc.filename, size: doc.size, pct: 100 };
      this.uploads.set(key, { ...upload, documentId: doc.id, job });
    } catch (error) {
      this.onError(error);
    }
    await this.refresh();
  }

  async refresh() {
    const name = this.current;
    if (!name) return;
    try {
      const documents = await api.get(`${api.collectionPath(name)}/documents`);
      if (name !== this.current) return;
      this.documents = documents;
    } catch (error) {
      this.onError(error);
    }
    this.renderDocuments();
    this.schedule();
  }

  /** Polls while anything is on its way: upload job progress and document statuses. */
  schedule() {
    clearTimeout(this.pollTimer);
    const busy =
      this.documents.some((d) => ACTIVE.has(d.status)) ||
      [...this.uploads.values()].some((u) => !u.error && !u.finished);
    if (busy) this.pollTimer = setTimeout(() => this.poll(), POLL_MS);
  }

  async poll() {
    const jobs = [...this.uploads.values()].filter((u) => u.job && !u.finished && !u.error);
    await Promise.all(
      jobs.map(async (upload) => {
        try {
          upload.job = await api.get(`/api/jobs/${encodeURIComponent(upload.job.id)}`);
        } catch (error) {
          if (error.unreachable) this.onError(error);
          return;
        }
        upload.eta = this.estimate(upload.job);
        if (["done", "failed", "cancelled"].includes(upload.job.state)) {
          upload.finished = true;
          this.uploads.delete(upload.key);
          this.finishBy.delete(upload.job.id);
        }
      }),
    );
    await this.refresh();
  }

  /** Seconds left, never more than an earlier estimate promised; null while there is no pace. */
  estimate(job) {
    const promised = this.finishBy.get(job.id) ?? Infinity;
    const by = job.eta_seconds ? Math.min(promised, Date.now() + job.eta_seconds * 1000) : promised;
    if (by === Infinity) return null;
    this.finishBy.set(job.id, by);
    return Math.max(1, (by - Date.now()) / 1000);
  }

  add(files) {
    if (!this.current || !files.length) return;
    for (const file of files) {
      const key = `u${this.nextUpload++}`;
      const upload = { key, collection: this.current, name: file.name, size: file.size, pct: 0 };
      this.uploads.set(key, upload);
      this.queue.push([upload, file]);
    }
    this.renderDocuments();
    this.pump();
  }

  pump() {
    while (this.running < PARALLEL_UPLOADS && this.queue.length) {
      const [upload, file] = this.queue.shift();
      this.running += 1;
      this.send(upload, file).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  async send(upload, file) {
    try {
      const accepted = await api.upload(upload.collection, file, (share) => {
        upload.pct = Math.round(share * 100);
        this.renderUpload(upload);
      });
      upload.documentId = accepted.document.id;
      upload.job = accepted.job;
      upload.duplicate = !accepted.created;
      if (!accepted.created || ["done", "failed"].includes(accepted.job.state)) {
        upload.finished = true;
        this.uploads.delete(upload.key);
        if (upload.duplicate) this.flash(accepted.document.id);
      }
    } catch (error) {
      upload.error = error;
      if (error.unreachable) this.onError(error);
    }
    if (upload.collection === this.current) await this.refresh();
  }

  flash(documentId) {
    this.flashed = documentId;
    setTimeout(() => {
      if (this.flashed === documentId) this.flashed = null;
      this.renderDocuments();
    }, 4000);
  }

  async remove(doc) {
    if (!window.confirm(t("confirmDelete", { name: doc.filename }))) return;
    try {
      await api.del(`${api.collectionPath(this.current)}/documents/${encodeURIComponent(doc.id)}`);
    } catch (error) {
      this.onError(error);
    }
    await this.refresh();
  }

  retryButton(doc) {
    const button = el(
      "button",
      { type: "button", class: "ghost-button doc-retry", onclick: () => this.retry(doc) },
      icon("refresh"),
      bind(el("span"), "retryDocument"),
    );
    return bindLabel(button, "retryDocumentLabel", { name: doc.filename });
  }

  uploadsHere() {
    return [...this.uploads.values()].filter((u) => u.collection === this.current);
  }

  renderDocuments() {
    const pending = this.uploadsHere().filter((u) => !u.documentId);
    const rows = [
      ...pending.map((u) => this.uploadRow(u)),
      ...this.documents.map((d) => this.documentRow(d)),
    ];
    if (!rows.length) rows.push(el("li", { class: "doc-empty" }, bind(el("span"), "noDocuments")));
    this.list.replaceChildren(...rows);
    this.count.textContent = this.documents.length ? String(this.documents.length) : "";
    this.onDocuments(this.documents);
  }

  renderUpload(upload) {
    const row = this.list.querySelector(`[data-upload="${upload.key}"]`);
    if (row) row.replaceWith(this.uploadRow(upload));
  }

  uploadRow(upload) {
    const failed = Boolean(upload.error);
    return el(
      "li",
      { class: `doc ${failed ? "is-failed" : "is-uploading"}`, dataset: { upload: upload.key } },
      fileIcon(upload.name),
      el(
        "div",
        { class: "doc-main" },
        el(
          "span",
          { class: "doc-title" },
          el("span", { class: "doc-name", title: upload.name }, upload.name),
          badge(failed ? "failed" : "uploading"),
        ),
        el("span", { class: "doc-meta" }, formatSize(upload.size)),
        failed
          ? el("span", { class: "doc-error", role: "alert" }, messageOf(upload.error))
          : progress(upload.pct / 100, t("uploadingPct", { pct: upload.pct })),
      ),
      failed
        ? el(
            "button",
            {
              class: "icon-button",
              type: "button",
              "aria-label": t("dismiss"),
              title: t("dismiss"),
              onclick: () => {
                this.uploads.delete(upload.key);
                this.renderDocuments();
              },
            },
            icon("x"),
          )
        : null,
    );
  }

  documentRow(doc) {
    const upload = this.uploadsHere().find((u) => u.documentId === doc.id);
    const meta = [formatSize(doc.size)];
    if (doc.pages && doc.media_type === PPTX) {
      meta.push(doc.pages === 1 ? t("slideN1") : t("slidesN", { n: doc.pages }));
    } else if (doc.pages && PAGED.has(doc.media_type)) {
      meta.push(doc.pages === 1 ? t("pageN1") : t("pagesN", { n: doc.pages }));
    }
    if (doc.chunks) meta.push(doc.chunks === 1 ? t("chunkN1") : t("chunksN", { n: doc.chunks }));
    const active = ACTIVE.has(doc.status);
    const remove = el(
      "button",
      { class: "icon-button doc-delete", type: "button", onclick: () => this.remove(doc) },
      icon("trash"),
    );
    bindLabel(remove, "deleteDocument", { name: doc.filename });
    const name = el(
      "a",
      {
        class: "doc-name",
        href: api.documentFileUrl(this.current, doc.id),
        target: "_blank",
        rel: "noopener",
        title: doc.filename,
      },
      doc.filename,
    );
    const collection = this.current;
    name.addEventListener("click", (e) => api.openWithKey(e, collection, doc.id, name.href));
    return el(
      "li",
      {
        class: `doc is-${doc.status}${this.flashed === doc.id ? " is-flashed" : ""}`,
        dataset: { document: doc.id, status: doc.status },
      },
      fileIcon(doc.filename),
      el(
        "div",
        { class: "doc-main" },
        el("span", { class: "doc-title" }, name, badge(doc.status)),
        el("span", { class: "doc-meta" }, meta.join(" · ")),
        active ? jobProgress(upload?.job, upload?.eta, doc.status) : null,
        doc.status === "searchable" ? bind(el("span", { class: "doc-note" }), "searchableNote") : null,
        doc.status === "failed" && doc.error
          ? el("span", { class: "doc-error" }, failureOf(doc))
          : null,
        doc.status === "failed" ? this.retryButton(doc) : null,
        this.flashed === doc.id ? bind(el("span", { class: "doc-note" }), "alreadyAdded") : null,
      ),
      remove,
    );
  }
}

function badge(status) {
  return bind(el("span", { class: `badge badge-${status}` }), `status_${status}`);
}

function fileIcon(filename) {
  const ext = (filename.split(".").pop() || "").toLowerCase().slice(0, 4);
  return el("span", { class: `file-icon file-${ext}`, "aria-hidden": "true" }, ext || "doc");
}

function progress(share, label) {
  const bar = el("span", { class: "bar-fill" });
  bar.style.width = `${Math.max(2, Math.min(100, share * 100)).toFixed(1)}%`;
  return el(
    "span",
    { class: "progress" },
    el(
      "span",
      {
        class: "bar",
        role: "progressbar",
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": String(Math.round(share * 100)),
        "aria-label": label,
      },
      bar,
    ),
    el("span", { class: "progress-label" }, label),
  );
}

/** Without the job (a file added before this page was opened), the document's status says
 * what stage it is in. */
function jobProgress(job, eta, status) {
  if (!job && status === "processing") return progress(0.02, t("parsing"));
  if (!job && status === "searchable") return progress(0.1, t("embedding"));
  if (job?.state === "queued" && job.stage === "embed") return progress(0.1, t("waitingEmbed"));
  if (!job || job.state === "queued") return progress(0, t("waiting"));
  const p = job.progress;
  let share;
  let label;
  if (job.stage === "embed" && p.chunks_total) {
    share = 0.1 + (0.9 * p.chunks_embedded) / p.chunks_total;
    label = t("embeddingChunks", { done: p.chunks_embedded, total: p.chunks_total });
  } else if (p.pages_total) {
    share = (0.1 * p.pages_done) / p.pages_total;
    label = t("parsingPages", { done: p.pages_done, total: p.pages_total });
  } else {
    share = 0.02;
    label = t("parsing");
  }
  if (eta) label += ` · ${t("etaSeconds", { s: Math.ceil(eta) })}`;
  return progress(share, label);
}
