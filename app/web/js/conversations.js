// The sidebar's list of a knowledge base's chats, newest first, each titled by its first
// question until renamed; open, rename in place, delete.

import * as api from "./api.js";
import { el, icon } from "./dom.js";
import { bind, bindLabel, t } from "./i18n.js";

export class ConversationList {
  constructor({ onOpen, onDeleted, onError }) {
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.onError = onError;
    this.collection = null;
    this.items = [];
    this.current = null;
    this.editing = null;
    this.list = document.getElementById("conversation-list");
  }

  path(id) {
    return `${api.collectionPath(this.collection)}/conversations${id ? `/${encodeURIComponent(id)}` : ""}`;
  }

  async load(collection) {
    this.collection = collection;
    this.items = [];
    this.render();
    if (!collection) return;
    try {
      const items = await api.get(this.path());
      if (collection === this.collection) this.items = items;
    } catch (error) {
      this.onError(error);
    }
    this.render();
  }

  /** The open chat, marked in the list; fetched again unless it already heads the list, as a
   * chat just answered does. */
  select(id) {
    this.current = id;
    if (id && this.items[0]?.id !== id) this.load(this.collection);
    else this.render();
  }

  render() {
    const rows = this.items.map((c) => this.row(c));
    if (!rows.length) rows.push(el("li", { class: "chat-empty" }, bind(el("span"), "noConversations")));
    this.list.replaceChildren(...rows);
  }

  row(conversation) {
    const title = conversation.title;
    if (this.editing === conversation.id) return this.editor(conversation);
    const open = el(
      "button",
      {
        type: "button",
        class: "chat-open",
        "aria-current": conversation.id === this.current ? "true" : null,
        onclick: () => this.onOpen(conversation.id),
      },
      icon("chat"),
      el("span", { class: "chat-title" }, title),
    );
    bindLabel(open, "openConversation", { title });
    const rename = el(
      "button",
      { type: "button", class: "icon-button chat-action", onclick: () => this.edit(conversation.id) },
      icon("pencil"),
    );
    bindLabel(rename, "renameConversation", { title });
    const remove = el(
      "button",
      { type: "button", class: "icon-button chat-action chat-delete", onclick: () => this.remove(conversation) },
      icon("trash"),
    );
    bindLabel(remove, "deleteConversation", { title });
    return el(
      "li",
      {
        class: `chat${conversation.id === this.current ? " is-current" : ""}`,
        dataset: { conversation: conversation.id },
      },
      open,
      rename,
      remove,
    );
  }

  edit(id) {
    this.editing = id;
    this.render();
    const input = this.list.querySelector(".chat-rename input");
    input?.focus();
    input?.select();
  }

  editor(conversation) {
    const input = el("input", { type: "text", maxlength: "200", required: true, autocomplete: "off" });
    input.value = conversation.title;
    bindLabel(input, "conversationTitle");
    const cancel = () => {
      this.editing = null;
      this.render();
      this.list.querySelector(`[data-conversation="${conversation.id}"] .chat-open`)?.focus();
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        cancel();
      }
    });
    const form = el(
      "form",
      { class: "chat-rename" },
      input,
      bind(el("button", { type: "submit", class: "button-primary" }), "save"),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const title = input.value.trim();
      if (!title) return;
      try {
        const renamed = await api.patch(this.path(conversation.id), { title });
        Object.assign(conversation, { title: renamed.title });
      } catch (error) {
        this.onError(error);
      }
      cancel();
    });
    return el("li", { class: "chat is-editing", dataset: { conversation: conversation.id } }, form);
  }

  async remove(conversation) {
    if (!window.confirm(t("confirmDeleteConversation", { title: conversation.title }))) return;
    try {
      await api.del(this.path(conversation.id));
    } catch (error) {
      if (error.status !== 404) {
        this.onError(error);
        return;
      }
    }
    this.items = this.items.filter((c) => c.id !== conversation.id);
    this.render();
    this.onDeleted(conversation.id);
  }
}
