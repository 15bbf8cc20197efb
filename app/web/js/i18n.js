// Every string the page shows, in both languages. Elements carry data-i18n (text),
// data-i18n-aria (aria-label + title), data-i18n-placeholder; data-i18n-args holds JSON
// arguments for {name} placeholders so a language switch can redraw them.

const STRINGS = {
  en: {
    appName: "Zhiku",
    tagline: "Answers from your own documents",
    sidebar: "Knowledge bases and documents",
    knowledgeBase: "Knowledge base",
    newCollection: "New knowledge base",
    collectionName: "Name",
    collectionPlaceholder: "e.g. Handbooks",
    create: "Create",
    cancel: "Cancel",
    noCollections: "No knowledge base yet",
    dropTitle: "Drop files here",
    dropOr: "or",
    choose: "choose files",
    dropHint: "PDF, Word, Markdown, HTML, text",
    documents: "Documents",
    noDocuments: "No documents yet. Add some above.",
    deleteDocument: "Delete {name}",
    confirmDelete: "Delete “{name}” from this knowledge base?",
    openOriginal: "Open the original file",
    pagesN: "{n} pages",
    pageN1: "1 page",
    slidesN: "{n} slides",
    slideN1: "1 slide",
    chunksN: "{n} chunks",
    chunkN1: "1 chunk",
    status_queued: "Queued",
    status_processing: "Processing",
    status_searchable: "Indexing",
    status_ready: "Ready",
    status_failed: "Failed",
    status_uploading: "Uploading",
    uploadingPct: "Uploading… {pct}%",
    parsingPages: "Reading pages {done}/{total}",
    parsing: "Reading…",
    embeddingChunks: "Embedding {done}/{total}",
    embedding: "Embedding…",
    waitingEmbed: "Read; waiting to embed…",
    waiting: "Waiting for the worker…",
    etaSeconds: "about {s} s left",
    alreadyAdded: "Already in this knowledge base",
    uploadFailed: "Upload failed",
    dismiss: "Dismiss",
    menu: "Open the sidebar",
    closeMenu: "Close the sidebar",
    newChat: "New chat",
    language: "Language",
    switchLanguage: "中文",
    switchLanguageLabel: "切换到中文",
    apiKey: "API key",
    apiDocs: "API",
    emptyNoCollectionTitle: "Start a knowledge base",
    emptyNoCollection: "Create one on the left, add your PDFs, Word files or notes, and ask.",
    emptyNoDocsTitle: "Add documents to {name}",
    emptyNoDocs: "Drop files in the sidebar. Once they are ready, ask anything about them.",
    emptyTitle: "Ask {name}",
    emptyHint: "Answers quote the passages they come from. Click a [n] to see it.",
    questionLabel: "Your question",
    questionPlaceholder: "Ask about your documents…",
    send: "Send",
    stop: "Stop",
    composerHint: "Enter to send · Shift+Enter for a new line",
    you: "You",
    assistant: "Zhiku",
    thinking: "Searching your documents…",
    stopped: "Stopped.",
    copy: "Copy",
    copied: "Copied",
    sources: "Sources",
    pageShort: "p. {n}",
    slideShort: "slide {n}",
    rowShort: "row {n}",
    rowsShort: "rows {first}–{last}",
    sheetRow: "{sheet} · row {n}",
    sheetRows: "{sheet} · rows {first}–{last}",
    notInDocuments: "Not in your documents",
    abstainedHint: "Nothing in this knowledge base answers that. Try rephrasing, or add a document that does.",
    unverified: "Unverified",
    unverifiedTitle: "This citation could not be checked against its passage",
    ocrMark: "OCR",
    ocrHint: "This passage was read from a scanned page or picture by OCR: a character may be misread.",
    verified: "Verified",
    verifiedTitle: "The cited passage supports the sentence",
    citation: "Citation {n}",
    passage: "Passage",
    closePassage: "Close the passage",
    pageOf: "Page {n}",
    slideOf: "Slide {n}",
    openPage: "Open page {n} in the PDF",
    openFile: "Open the original file",
    quotedSentence: "Quoted sentence",
    errorTitle: "Something went wrong",
    llmFailedTitle: "The language model backend failed",
    serviceDownTitle: "Can’t reach the Zhiku service",
    serviceDownHint: "Check that the service is running, then ask again.",
    serviceDown: "Can’t reach the Zhiku service. Check that it is running; this page retries on its own.",
    serviceBack: "Connected again.",
    serviceError: "The service answered with an error: {message}",
    retry: "Retry",
    keyTitle: "API key needed",
    keyBody: "This Zhiku service asks for an API key. It is kept in this browser only.",
    keyLabel: "API key",
    keySave: "Save and retry",
    keyWrong: "That key was refused. Check it and try again.",
    keyForget: "Forget this key",
    keyForbidden: "Your API key may not do that here. Ask for a key with write access.",
    backendLabel: "Answered by {backend}",
    elapsed: "{s} s",
    skipToQuestion: "Skip to the question",
    conversations: "Chats",
    noConversations: "No chats yet. Your questions and answers are kept here.",
    openConversation: "Open the chat “{title}”",
    renameConversation: "Rename “{title}”",
    deleteConversation: "Delete “{title}”",
    confirmDeleteConversation: "Delete the chat “{title}”? Its questions and answers go too.",
    conversationTitle: "Chat title",
    conversationGone: "That chat no longer exists; a new one starts here.",
    save: "Save",
    regenerate: "Answer again",
    retryDocument: "Retry",
    retryDocumentLabel: "Retry {name}",
    searchableNote: "You can ask about it now; semantic search follows shortly.",
    countReady: "{n} ready",
    countWorking: "{n} in progress",
    countFailed: "{n} failed",
    allDocuments: "All documents",
    someDocuments: "{n} of {total} documents",
    filterTitle: "Answers search these documents",
    filterHint: "Kept with this chat.",
    filterNone: "No searchable documents yet.",
    filterAll: "All",
    kbSettings: "Knowledge base settings",
    kbName: "Name",
    kbTopK: "Passages read per answer",
    kbTopKHint: "1–50; the service default is {n}.",
    kbBackend: "Answer backend",
    kbBackendHint: "Set by the service’s operator (ZHIKU_LLM_BACKEND).",
    kbThresholds: "Abstention threshold",
    kbThresholdsValue: "English {en} · Chinese {zh}",
    kbThresholdsHint: "Below this share of the question’s words in the best sentence, the answer is “not in your documents”. Fitted for the service; not changed here.",
    kbEvaluation: "Evaluation",
    kbEvaluationNone: "Not evaluated yet.",
    kbEvaluationRunning: "Evaluating {file}: {done} of {total} questions…",
    kbEvaluationDone: "{file}, {date}. Right passage in the top 5: {hit}; answers holding the gold answer: {contained}.",
    kbEvaluationFailed: "The last evaluation failed: {reason}",
    kbEvaluationReport: "Open the latest report",
    kbEvaluationRun: "Run a golden set…",
    kbEvaluationHint: "JSON lines, SQuAD JSON or CSV: question, answer (empty: not in the documents), file, page. The README shows the format.",
    kbDelete: "Delete knowledge base",
    confirmDeleteCollection: "Delete the knowledge base “{name}” with all its documents and chats? This cannot be undone.",
  },
  "zh-CN": {
    appName: "知库",
    tagline: "从你自己的文档里找答案",
    sidebar: "知识库与文档",
    knowledgeBase: "知识库",
    newCollection: "新建知识库",
    collectionName: "名称",
    collectionPlaceholder: "例如：员工手册",
    create: "创建",
    cancel: "取消",
    noCollections: "还没有知识库",
    dropTitle: "把文件拖到这里",
    dropOr: "或",
    choose: "选择文件",
    dropHint: "支持 PDF、Word、Markdown、HTML、纯文本",
    documents: "文档",
    noDocuments: "还没有文档，请在上方添加。",
    deleteDocument: "删除 {name}",
    confirmDelete: "要从知识库中删除“{name}”吗？",
    openOriginal: "打开原文件",
    pagesN: "{n} 页",
    pageN1: "1 页",
    slidesN: "{n} 张幻灯片",
    slideN1: "1 张幻灯片",
    chunksN: "{n} 个片段",
    chunkN1: "1 个片段",
    status_queued: "排队中",
    status_processing: "处理中",
    status_searchable: "建索引",
    status_ready: "就绪",
    status_failed: "失败",
    status_uploading: "上传中",
    uploadingPct: "上传中… {pct}%",
    parsingPages: "读取页面 {done}/{total}",
    parsing: "读取中…",
    embeddingChunks: "向量化 {done}/{total}",
    embedding: "向量化中…",
    waitingEmbed: "已读取，等待向量化…",
    waiting: "等待处理…",
    etaSeconds: "约剩 {s} 秒",
    alreadyAdded: "知识库里已有这个文件",
    uploadFailed: "上传失败",
    dismiss: "关闭",
    menu: "打开侧栏",
    closeMenu: "关闭侧栏",
    newChat: "新对话",
    language: "语言",
    switchLanguage: "EN",
    switchLanguageLabel: "Switch to English",
    apiKey: "API 密钥",
    apiDocs: "API",
    emptyNoCollectionTitle: "先建一个知识库",
    emptyNoCollection: "在左侧新建知识库，放入 PDF、Word 或笔记，然后提问。",
    emptyNoDocsTitle: "给「{name}」添加文档",
    emptyNoDocs: "把文件拖进侧栏。处理完成后，就可以就文档内容提问。",
    emptyTitle: "向「{name}」提问",
    emptyHint: "回答会引用出处。点击 [n] 查看原文段落。",
    questionLabel: "你的问题",
    questionPlaceholder: "就文档内容提个问题…",
    send: "发送",
    stop: "停止",
    composerHint: "Enter 发送 · Shift+Enter 换行",
    you: "你",
    assistant: "知库",
    thinking: "正在检索文档…",
    stopped: "已停止。",
    copy: "复制",
    copied: "已复制",
    sources: "出处",
    pageShort: "第 {n} 页",
    slideShort: "第 {n} 张幻灯片",
    rowShort: "第 {n} 行",
    rowsShort: "第 {first}–{last} 行",
    sheetRow: "{sheet} · 第 {n} 行",
    sheetRows: "{sheet} · 第 {first}–{last} 行",
    notInDocuments: "文档中没有答案",
    abstainedHint: "这个知识库里没有能回答该问题的内容。换个说法试试，或添加相关文档。",
    unverified: "未验证",
    unverifiedTitle: "这条引用没能在原文段落中得到验证",
    ocrMark: "文字识别",
    ocrHint: "这段文字由文字识别（OCR）从扫描页或图片中读出，个别字可能识别有误。",
    verified: "已验证",
    verifiedTitle: "引用的段落支持这句话",
    citation: "引用 {n}",
    passage: "原文段落",
    closePassage: "关闭原文段落",
    pageOf: "第 {n} 页",
    slideOf: "第 {n} 张幻灯片",
    openPage: "在 PDF 中打开第 {n} 页",
    openFile: "打开原文件",
    quotedSentence: "引用的句子",
    errorTitle: "出错了",
    llmFailedTitle: "语言模型后端出错了",
    serviceDownTitle: "连不上知库服务",
    serviceDownHint: "请确认服务正在运行，然后再问一次。",
    serviceDown: "连不上知库服务。请确认服务在运行；本页面会自动重试。",
    serviceBack: "已重新连接。",
    serviceError: "服务返回了错误：{message}",
    retry: "重试",
    keyTitle: "需要 API 密钥",
    keyBody: "这个知库服务需要 API 密钥。密钥只保存在本浏览器中。",
    keyLabel: "API 密钥",
    keySave: "保存并重试",
    keyWrong: "密钥被拒绝，请检查后重试。",
    keyForget: "忘记此密钥",
    keyForbidden: "你的 API 密钥无权在这里执行此操作。请申请有写入权限的密钥。",
    backendLabel: "由 {backend} 回答",
    elapsed: "{s} 秒",
    skipToQuestion: "跳到提问框",
    conversations: "对话",
    noConversations: "还没有对话。提过的问题和回答会保存在这里。",
    openConversation: "打开对话“{title}”",
    renameConversation: "重命名“{title}”",
    deleteConversation: "删除“{title}”",
    confirmDeleteConversation: "要删除对话“{title}”吗？其中的问答会一并删除。",
    conversationTitle: "对话标题",
    conversationGone: "这个对话已不存在，已为你开始新对话。",
    save: "保存",
    regenerate: "重新回答",
    retryDocument: "重试",
    retryDocumentLabel: "重试 {name}",
    searchableNote: "现在就可以提问了；语义检索稍后就绪。",
    countReady: "{n} 篇就绪",
    countWorking: "{n} 篇处理中",
    countFailed: "{n} 篇失败",
    allDocuments: "全部文档",
    someDocuments: "{n}/{total} 篇文档",
    filterTitle: "回答只检索这些文档",
    filterHint: "此设置随对话保存。",
    filterNone: "还没有可检索的文档。",
    filterAll: "全部",
    kbSettings: "知识库设置",
    kbName: "名称",
    kbTopK: "每次回答读取的段落数",
    kbTopKHint: "1–50；服务默认为 {n}。",
    kbBackend: "回答后端",
    kbBackendHint: "由服务管理员设置（ZHIKU_LLM_BACKEND）。",
    kbThresholds: "拒答阈值",
    kbThresholdsValue: "英文 {en} · 中文 {zh}",
    kbThresholdsHint: "最佳句子覆盖问题用词的比例低于此值时，回答“文档中没有答案”。该值为服务统一拟合，此处不可修改。",
    kbEvaluation: "评测",
    kbEvaluationNone: "还没有评测过。",
    kbEvaluationRunning: "正在评测 {file}：已完成 {done}/{total} 个问题…",
    kbEvaluationDone: "{file}，{date}。前 5 个段落命中：{hit}；答案包含标准答案：{contained}。",
    kbEvaluationFailed: "上次评测失败：{reason}",
    kbEvaluationReport: "打开最新的评测报告",
    kbEvaluationRun: "运行评测集…",
    kbEvaluationHint: "JSON Lines、SQuAD JSON 或 CSV：question、answer（留空表示文档中没有答案）、file、page。格式见 README。",
    kbDelete: "删除知识库",
    confirmDeleteCollection: "要删除知识库“{name}”及其全部文档和对话吗？此操作无法撤销。",
  },
};

export const LANGUAGES = Object.keys(STRINGS);
const STORAGE = "zhiku.lang";
let current = detect();

function detect() {
  const saved = localStorage.getItem(STORAGE);
  if (saved && STRINGS[saved]) return saved;
  const wanted = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const tag of wanted) {
    if (String(tag).toLowerCase().startsWith("zh")) return "zh-CN";
    if (String(tag).toLowerCase().startsWith("en")) return "en";
  }
  return "en";
}

export function lang() {
  return current;
}

export function t(key, args = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? String(args[name]) : whole));
}

/** Marks an element so that its text follows the language, and fills it now. */
export function bind(element, key, args) {
  element.dataset.i18n = key;
  if (args) element.dataset.i18nArgs = JSON.stringify(args);
  element.textContent = t(key, args);
  return element;
}

export function bindLabel(element, key, args) {
  element.dataset.i18nAria = key;
  if (args) element.dataset.i18nArgs = JSON.stringify(args);
  const text = t(key, args);
  element.setAttribute("aria-label", text);
  element.title = text;
  return element;
}

function argsOf(element) {
  return element.dataset.i18nArgs ? JSON.parse(element.dataset.i18nArgs) : {};
}

export function translate(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, argsOf(el));
  }
  for (const el of root.querySelectorAll("[data-i18n-aria]")) {
    const text = t(el.dataset.i18nAria, argsOf(el));
    el.setAttribute("aria-label", text);
    el.title = text;
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  document.title = `${t("appName")} · ${t("tagline")}`;
}

export function setLang(next) {
  current = STRINGS[next] ? next : "en";
  localStorage.setItem(STORAGE, current);
  translate();
  document.dispatchEvent(new CustomEvent("zhiku:lang"));
}
