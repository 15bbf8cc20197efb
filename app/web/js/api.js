// The public HTTP API, as any REST client sees it: JSON errors {"error": {code, message, params}},
// a Bearer key when the service asks for one (401), Server-Sent Events for streamed answers.

const KEY_STORAGE = "zhiku.apiKey";

export class ApiError extends Error {
  constructor(status, code, message, params = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.params = params;
  }

  /** No answer at all: the service is down or the network is gone. */
  get unreachable() {
    return this.status === 0;
  }
}

let askForKey = async () => false;
let onReachable = () => {};

/** `ask(wasRefused)` resolves true once a new key is stored, false if the person gave up. */
export function onUnauthorized(ask) {
  askForKey = ask;
}

export function onServiceReachable(callback) {
  onReachable = callback;
}

export function storedKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function storeKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

function authHeaders(extra = {}) {
  const headers = new Headers(extra);
  const key = storedKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  return headers;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    const error = body?.error;
    if (error?.code) return new ApiError(response.status, error.code, error.message, error.params);
  } catch {
    // Not JSON (a proxy's error page): fall through to the status line.
  }
  return new ApiError(response.status, `http_${response.status}`, response.statusText || "error");
}

async function send(method, path, body, signal) {
  for (let tries = 0; ; tries++) {
    let response;
    try {
      // A form (a file upload) goes as multipart with the boundary fetch writes itself.
      const form = body instanceof FormData;
      response = await fetch(path, {
        method,
        headers: authHeaders(body === undefined || form ? {} : { "Content-Type": "application/json" }),
        body: body === undefined || form ? body : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "unreachable", error.message);
    }
    onReachable();
    if (response.status === 401 && tries < 3 && (await askForKey(Boolean(storedKey())))) continue;
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}

export async function call(method, path, body) {
  const response = await send(method, path, body);
  return response.status === 204 ? null : response.json();
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);
export const del = (path) => call("DELETE", path);
export const patch = (path, body) => call("PATCH", path, body);

export const collectionPath = (name) => `/api/collections/${encodeURIComponent(name)}`;

/** Yields {event, data} for each Server-Sent Event of a POST; aborting `signal` stops it. */
export async function* events(path, body, signal) {
  const response = await send("POST", path, body, signal);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      const blocks = buffered.split(/\r?\n\r?\n/);
      buffered = blocks.pop();
      for (const block of blocks) {
        const parsed = parseEvent(block);
        if (parsed) yield parsed;
      }
    }
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "unreachable", error.message);
  } finally {
    reader.releaseLock();
  }
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  return { event, data: JSON.parse(data.join("\n")) };
}

/** One file in one request, so each file has its own progress and its own error.
 * Resolves with the accepted upload ({document, job, created}). XMLHttpRequest because
 * fetch reports no upload progress. */
export function upload(collection, file, onProgress) {
  const attempt = () =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${collectionPath(collection)}/documents`);
      const key = storedKey();
      if (key) xhr.setRequestHeader("Authorization", `Bearer ${key}`);
      xhr.responseType = "json";
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onerror = () => reject(new ApiError(0, "unreachable", "network error"));
      xhr.onload = () => {
        onReachable();
        const body = xhr.response;
        if (xhr.status >= 200 && xhr.status < 300) resolve(body[0]);
        else if (body?.error) {
          const { code, message, params } = body.error;
          reject(new ApiError(xhr.status, code, message, params));
        }
        else reject(new ApiError(xhr.status, `http_${xhr.status}`, xhr.statusText));
      };
      const form = new FormData();
      form.append("files", file, file.name);
      xhr.send(form);
    });
  return (async () => {
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (error.status === 401 && tries < 3 && (await askForKey(Boolean(storedKey())))) continue;
        throw error;
      }
    }
  })();
}

/** The original file of a document, to open in a new tab. With a key the browser cannot send
 * a header on a plain link, so the file is fetched and opened as a blob URL instead. */
export function documentFileUrl(collection, documentId) {
  return `${collectionPath(collection)}/documents/${encodeURIComponent(documentId)}/file`;
}

export async function documentFileBlobUrl(collection, documentId) {
  const response = await send("GET", documentFileUrl(collection, documentId));
  return URL.createObjectURL(await response.blob());
}

/** A link's click when an API key is set: a plain link cannot authenticate, so the file is
 * fetched with the key and opened as a blob (keeping the link's #page=N). */
export async function openWithKey(event, collection, documentId, href) {
  if (!storedKey()) return;
  event.preventDefault();
  const opened = window.open("", "_blank");
  const fragment = href.includes("#") ? href.slice(href.indexOf("#")) : "";
  const url = await documentFileBlobUrl(collection, documentId);
  if (opened) opened.location.href = url + fragment;
}

/** A link's click to a page of the API (an evaluation report) when an API key is set: a plain
 * link cannot authenticate, and a page opened from a blob would run under this page's rules,
 * which refuse the report's inline styles; so it is fetched with the key and saved as a file. */
export async function saveWithKey(event, path, filename) {
  if (!storedKey()) return;
  event.preventDefault();
  const response = await send("GET", path);
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
