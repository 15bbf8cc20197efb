// Starts the page: language, the sidebar, the chat, the passage panel, and the messages shown
// when the service cannot be reached or asks for a key. The address (#/knowledge base/chat)
// names the open chat, so a reload, a bookmark or a copied link opens it again.

import * as api from "./api.js";
import { Chat } from "./chat.js";
import { ConversationList } from "./conversations.js";
import { DocumentFilter } from "./filter.js";
import { bind, lang, setLang, t, translate } from "./i18n.js";
import { Library } from "./library.js";
import { describe } from "./messages.js";
import { PassagePanel } from "./passage.js";

const CHAT_STORAGE = "zhiku.chat.";

const HEALTH_RETRY_MS = 3000;

class Banner {
  constructor() {
    this.node = document.getElementById("banner");
    this.text = document.getElementById("banner-text");
    this.retry = document.getElementById("banner-retry");
    this.down = false;
    this.timer = null;
    this.onBack = () => {};
    this.retry.addEventListener("click", () => this.check());
    document.getElementById("banner-close").addEventListener("click", () => this.hide());
  }

  show(key, args, kind) {
    clearTimeout(this.hideTimer);
    bind(this.text, key, args);
    this.node.dataset.kind = kind;
    this.node.hidden = false;
    this.retry.hidden = kind !== "down";
  }

  hide() {
    this.node.hidden = true;
  }

  error(error) {
    if (error.unreachable) {
      if (!this.down) {
        this.down = true;
        this.show("serviceDown", {}, "down");
        this.timer = setTimeout(() => this.check(), HEALTH_RETRY_MS);
      }
      return;
    }
    if (error.status === 403) this.show("keyForbidden", {}, "error");
    else if (error.code === "gone") this.show("conversationGone", {}, "ok");
    else this.show("serviceError", { message: describe(error) }, "error");
    this.hideTimer = setTimeout(() => this.hide(), 8000);
  }

  reachable() {
    if (!this.down) return;
    this.down = false;
    clearTimeout(this.timer);
    this.show("serviceBack", {}, "ok");
    this.hideTimer = setTimeout(() => this.hide(), 2500);
    this.onBack();
  }

  async check() {
    clearTimeout(this.timer);
    try {
      const response = await fetch("/healthz", { cache: "no-store" });
      if (response.ok) {
        this.reachable();
        return;
      }
    } catch {
      // Still down: try again shortly.
    }
    if (this.down) this.timer = setTimeout(() => this.check(), HEALTH_RETRY_MS);
  }
}

/** One dialog asks for the key however many calls were refused at once. */
function keyPrompt() {
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  const wrong = document.getElementById("key-wrong");
  const forget = document.getElementById("key-forget");
  let pending = null;
  dialog.addEventListener("close", () => {
    const saved = dialog.returnValue === "save" && input.value.trim();
    if (saved) api.storeKey(input.value.trim());
    pending?.resolve(Boolean(saved));
    pending = null;
  });
  document.getElementById("key-cancel").addEventListener("click", () => dialog.close("cancel"));
  // Forgetting starts the page over without a key: it asks again if the service needs one.
  forget.addEventListener("click", () => {
    api.storeKey("");
    dialog.close("forget");
    window.location.reload();
  });
  document.getElementById("key-button").addEventListener("click", () => {
    if (!dialog.open) ask(false);
  });

  function ask(refused) {
    if (pending) return pending.promise;
    let resolve;
    const promise = new Promise((r) => {
      resolve = r;
    });
    pending = { promise, resolve };
    wrong.hidden = !refused;
    forget.hidden = !api.storedKey();
    input.value = api.storedKey();
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
    return promise;
  }
  return ask;
}

function drawer() {
  const toggle = document.getElementById("menu-button");
  const scrim = document.getElementById("scrim");
  const sidebar = document.getElementById("sidebar");
  const set = (open) => {
    document.body.classList.toggle("drawer-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    scrim.hidden = !open;
    if (open) sidebar.querySelector("select, button")?.focus();
  };
  toggle.addEventListener("click", () => set(!document.body.classList.contains("drawer-open")));
  scrim.addEventListener("click", () => set(false));
  document.getElementById("drawer-close").addEventListener("click", () => {
    set(false);
    toggle.focus();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("drawer-open")) set(false);
  });
  return () => set(false);
}

/** Ready, in progress and failed counted apart: a failed file is not one still coming. */
function header(name, documents) {
  const title = document.getElementById("topbar-title");
  const meta = document.getElementById("topbar-meta");
  title.textContent = name ?? t("appName");
  const count = (statuses) => documents.filter((d) => statuses.includes(d.status)).length;
  const parts = [
    ["countReady", count(["ready"])],
    ["countWorking", count(["queued", "processing", "searchable"])],
    ["countFailed", count(["failed"])],
  ].filter(([, n]) => n);
  meta.textContent = parts.map(([key, n]) => t(key, { n })).join(" · ");
  meta.hidden = !name || !parts.length;
}

/** [knowledge base, chat id] named by the address, each null when absent. */
function addressed() {
  if (!window.location.hash.startsWith("#/")) return [null, null];
  const [collection, chat] = window.location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return [collection || null, chat || null];
}

function address(collection, chat) {
  const hash = collection ? `#/${encodeURIComponent(collection)}${chat ? `/${encodeURIComponent(chat)}` : ""}` : "";
  if (window.location.hash !== hash) history.replaceState(null, "", hash || window.location.pathname);
}

function main() {
  translate();
  const banner = new Banner();
  api.onServiceReachable(() => banner.reachable());
  api.onUnauthorized(keyPrompt());
  const closeDrawer = drawer();

  document.getElementById("lang-button").addEventListener("click", () => {
    setLang(lang() === "en" ? "zh-CN" : "en");
  });

  const passage = new PassagePanel();
  const onError = (error) => banner.error(error);
  let documents = [];
  let current = null;
  const filter = new DocumentFilter({ onChange: (ids) => chat.limitTo(ids) });
  const conversations = new ConversationList({
    onOpen: (id) => {
      chat.open(id);
      closeDrawer();
    },
    onDeleted: (id) => {
      if (id === chat.conversationId) chat.reset();
    },
    onError,
  });
  const chat = new Chat({
    passage,
    onError,
    documents: () => documents,
    filter,
    onConversation: (id) => {
      conversations.select(id);
      if (!current) return;
      if (id) localStorage.setItem(CHAT_STORAGE + current, id);
      else localStorage.removeItem(CHAT_STORAGE + current);
      address(current, id);
    },
  });
  const openChat = (name) => {
    const [addressedCollection, addressedChat] = addressed();
    if (addressedCollection === name && addressedChat) chat.open(addressedChat);
    else if (localStorage.getItem(CHAT_STORAGE + name)) chat.open(localStorage.getItem(CHAT_STORAGE + name), true);
  };
  const library = new Library({
    onCollection: (name) => {
      current = name;
      chat.setCollection(name);
      conversations.load(name);
      address(name, null);
      if (name) openChat(name);
      closeDrawer();
    },
    onRenamed: (name) => {
      const id = chat.conversationId;
      localStorage.removeItem(CHAT_STORAGE + current);
      current = name;
      chat.collection = name;
      conversations.load(name);
      chat.onConversation(id);
      header(current, documents);
    },
    onDocuments: (docs) => {
      documents = docs;
      chat.setDocuments(docs);
      filter.setDocuments(docs);
      header(current, docs);
    },
    onError,
  });
  document.addEventListener("zhiku:lang", () => {
    library.renderDocuments();
    conversations.render();
    header(current, documents);
  });
  window.addEventListener("hashchange", () => {
    const [collection, id] = addressed();
    if (collection && collection !== current) library.choose(collection);
    else if (id && id !== chat.conversationId) chat.open(id);
  });
  // Moves focus without following the link: the address belongs to the open chat.
  document.querySelector(".skip-link").addEventListener("click", (e) => {
    e.preventDefault();
    document.getElementById("question").focus();
  });
  const load = () => library.load(addressed()[0]).catch((error) => banner.error(error));
  banner.onBack = load;
  load().then(() => {
    const question = document.getElementById("question");
    if (!question.disabled && !document.querySelector("dialog[open]")) question.focus();
  });
}

main();
