// The topbar's document picker: which documents of the knowledge base the open chat searches.
// None ticked off means all of them (also those added later).

import { el } from "./dom.js";
import { bind } from "./i18n.js";

const SEARCHABLE = new Set(["searchable", "ready"]);

export class DocumentFilter {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.documents = [];
    this.selected = null;
    this.button = document.getElementById("filter-button");
    this.label = document.getElementById("filter-label");
    this.panel = document.getElementById("filter-panel");
    this.all = document.getElementById("filter-all");
    this.list = document.getElementById("filter-list");
    this.button.addEventListener("click", () => this.toggle(this.panel.hidden));
    this.all.addEventListener("change", () => this.choose(null));
    document.addEventListener("click", (e) => {
      if (!this.panel.hidden && !this.panel.parentElement.contains(e.target)) this.toggle(false);
    });
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        this.toggle(false);
        this.button.focus();
      }
    });
  }

  toggle(open) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) this.panel.querySelector("input")?.focus();
  }

  setDocuments(documents) {
    this.documents = documents.filter((d) => SEARCHABLE.has(d.status));
    this.render();
  }

  /** The chat's own choice (null: all), as stored with it. */
  set(ids) {
    this.selected = ids?.length ? [...ids] : null;
    this.render();
  }

  choose(ids) {
    this.set(ids);
    this.onChange(this.selected);
  }

  render() {
    const chosen = new Set(this.selected ?? []);
    const known = this.documents.filter((d) => chosen.has(d.id)).length;
    if (this.selected) bind(this.label, "someDocuments", { n: known, total: this.documents.length });
    else bind(this.label, "allDocuments");
    this.button.classList.toggle("is-filtered", Boolean(this.selected));
    this.all.checked = !this.selected;
    if (!this.documents.length) {
      this.list.replaceChildren(bind(el("li", { class: "field-hint" }), "filterNone"));
      return;
    }
    this.list.replaceChildren(
      ...this.documents.map((d) => {
        const box = el("input", { type: "checkbox", value: d.id });
        box.checked = chosen.has(d.id);
        box.addEventListener("change", () => {
          const ticked = [...this.list.querySelectorAll("input:checked")].map((b) => b.value);
          this.choose(ticked.length && ticked.length < this.documents.length ? ticked : null);
        });
        return el("li", {}, el("label", { title: d.filename }, box, el("span", {}, d.filename)));
      }),
    );
  }
}
