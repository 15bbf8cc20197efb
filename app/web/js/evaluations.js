// A knowledge base's evaluations, in its settings: the latest run (its progress while it runs,
// its reason if it failed), a link to the latest report, and a golden set file to run.

import * as api from "./api.js";
import { bind, lang } from "./i18n.js";
import { describe, failureOf } from "./messages.js";

const POLL_MS = 1000;

const share = (value) => (value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`);

export class EvaluationPanel {
  constructor({ onError }) {
    this.onError = onError;
    this.collection = null;
    this.timer = null;
    this.status = document.getElementById("kb-evaluation-status");
    this.link = document.getElementById("kb-evaluation-report");
    this.fileInput = document.getElementById("kb-evaluation-file");
    this.fileInput.addEventListener("change", () => {
      const [file] = this.fileInput.files;
      this.fileInput.value = "";
      if (file) this.run(file);
    });
    this.link.addEventListener("click", (event) =>
      api.saveWithKey(event, this.link.getAttribute("href"), this.link.dataset.filename).catch(this.onError),
    );
  }

  path(suffix = "") {
    return `${api.collectionPath(this.collection)}/evaluations${suffix}`;
  }

  /** Shows the knowledge base's latest runs; follows one that is running. */
  async show(collection) {
    this.hide();
    this.collection = collection;
    await this.refresh();
  }

  hide() {
    clearTimeout(this.timer);
    this.timer = null;
    this.collection = null;
  }

  async refresh() {
    const collection = this.collection;
    let runs;
    let report = null;
    try {
      runs = await api.get(this.path());
      const done = runs.find((r) => r.state === "done");
      if (done) report = await api.get(this.path(`/${encodeURIComponent(done.id)}`));
    } catch (error) {
      if (collection === this.collection) this.say("kbEvaluationFailed", { reason: describe(error) });
      return;
    }
    if (collection !== this.collection) return;
    this.render(runs[0] ?? null, report);
    if (runs[0]?.state === "running") this.timer = setTimeout(() => this.refresh(), POLL_MS);
  }

  render(latest, report) {
    if (!latest) this.say("kbEvaluationNone");
    else if (latest.state === "running") {
      this.say("kbEvaluationRunning", {
        file: latest.golden_file,
        done: latest.progress.questions_done,
        total: latest.progress.questions_total,
      });
    } else if (latest.state === "failed") this.say("kbEvaluationFailed", { reason: failureOf(latest) });
    else this.sayDone(report);
    this.link.hidden = !report;
    if (report) {
      this.link.href = this.path(`/${encodeURIComponent(report.id)}/report.html`);
      this.link.dataset.filename = `zhiku-evaluation-${this.collection}-${report.id.slice(0, 8)}.html`;
    }
  }

  sayDone(run) {
    const metrics = run.report.metrics;
    this.say("kbEvaluationDone", {
      file: run.golden_file,
      date: new Date(run.finished_at * 1000).toLocaleString(lang()),
      hit: share(metrics.hit_at_5),
      contained: share(metrics.answer_containment),
    });
  }

  say(key, args) {
    bind(this.status, key, args);
  }

  async run(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      await api.call("POST", this.path(), form);
    } catch (error) {
      this.say("kbEvaluationFailed", { reason: describe(error) });
      if (error.unreachable) this.onError(error);
      return;
    }
    clearTimeout(this.timer);
    await this.refresh();
  }
}
