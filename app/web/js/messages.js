// What the server says (errors, and the failure reasons of documents and jobs) in the page's
// language. The server sends a stable code and its parameters beside its English message
// (core/messages.py holds one template per code); here each code has its words in every
// language of the page. A code this page does not know yet shows the server's own message.

import { lang } from "./i18n.js";

const MESSAGES = {
  en: {
    api_key_required: "This service needs an API key.",
    api_key_invalid: "The API key is not valid, or it was revoked.",
    collection_read_only: "This API key may not change the knowledge base “{collection}”.",
    admin_required: "Managing API keys needs a key with the admin scope.",
    key_needs_scope: "A key needs a scope: read, write or admin.",
    key_not_found: "There is no API key “{key}”.",
    collection_not_found: "There is no knowledge base named “{name}”; create it first.",
    collection_id_not_found: "The knowledge base {id} does not exist.",
    document_not_found: "This document is not in the knowledge base.",
    document_has_no_job: "This document has no processing job.",
    job_not_found: "The job {job} does not exist.",
    evaluation_not_found: "This evaluation does not exist in the knowledge base.",
    conversation_not_found: "This conversation does not exist in the knowledge base.",
    stored_file_missing: "The stored file is missing.",
    reembed_not_running: "This knowledge base is not being re-embedded.",
    reembed_no_longer_running: "This knowledge base is no longer being re-embedded.",
    route_not_found: "Not found.",
    method_not_allowed: "The method {method} is not allowed here.",
    collection_exists: "A knowledge base named “{name}” already exists.",
    conversation_has_no_question: "This conversation has no question to answer again.",
    job_not_cancellable: "The job is {state}; only queued or running jobs can be cancelled.",
    job_not_retriable: "The job is {state}; only failed or cancelled jobs can be retried.",
    job_already_retried: "This job was already retried.",
    retry_of_refused_file: "The file was refused when it was added ({reason}); add a fixed file instead.",
    reembed_running: "This knowledge base is already being re-embedded.",
    evaluation_not_done: "The evaluation has not finished; its report is there once it is done.",
    evaluation_running: "An evaluation of this knowledge base is still running; wait for it or delete it first.",
    collection_reembedding: "The knowledge base “{name}” is already being re-embedded.",
    reembed_taken_over: "Another worker took this re-embedding over.",
    model_already_used: "The knowledge base “{name}” already uses {model}.",
    embedding_model_unavailable: "The embedding model {model} cannot be opened on this server.",
    collection_model_unavailable:
      "The knowledge base “{name}” was made with the embedding model {model}, which this server cannot open (it uses {current}).",
    vectors_model_mismatch:
      "This knowledge base's vectors were made with {recorded}, not {model}; the server's embedding model must match.",
    query_model_mismatch:
      "The knowledge base “{name}” was embedded with {model}, but this server embeds questions with {current}.",
    data_dir_locked: "The data directory is in use by another process.",
    too_many_files: "{count} files in one request; at most {limit} are allowed. Send them in several batches.",
    file_over_limit: "The file is over the {limit_mb} MB limit.",
    files_over_limit: "The files are over {limit_mb} MB in all; send them in several batches.",
    upload_over_limit: "The upload is over {limit_mb} MB in all; send its files in several batches.",
    body_over_limit: "The request is over {limit_kb} KB.",
    file_too_large: "The file is {size_mb} MB, over the {limit_mb} MB limit.",
    rate_limited: "Too many requests; wait {retry_after} s and try again.",
    auth_rate_limited: "Too many attempts with a wrong API key; wait {retry_after} s and try again.",
    no_files: "Choose at least one file to upload.",
    bad_request: "The request could not be read: {problem}",
    http_error: "The request failed: {problem}",
    body_not_json: "The request is not valid JSON: {problem}",
    field_missing: "“{field}” is required.",
    field_too_short: "“{field}” is too short (at least {limit}).",
    field_too_long: "“{field}” is too long (at most {limit}).",
    number_too_small: "“{field}” must be at least {limit}.",
    number_too_large: "“{field}” must be at most {limit}.",
    field_invalid: "“{field}” is not valid: {problem}",
    question_empty: "The question is empty.",
    last_message_not_user: "The conversation must end with a question.",
    chat_needs_user_message: "The conversation must end with a question.",
    question_too_long: "The question has {length} characters; the limit is {limit}.",
    too_many_messages: "The conversation has {count} messages; the limit is {limit}. Start a new chat.",
    messages_too_long: "The conversation has {chars} characters in all; the limit is {limit}. Start a new chat.",
    qa_line_invalid: "{path}, line {line}: not a question-and-answer line ({problem}).",
    qa_file_empty: "{path} holds no questions.",
    golden_file_missing: "Choose a golden set file (JSON lines, SQuAD JSON or CSV).",
    golden_too_many_questions: "The golden set has {count} questions; the limit is {limit}. Split it into several runs.",
    content_refused: "The question contains content that is not allowed.",
    unsupported_type: "This file type ({media_type}) is not supported. Supported: PDF, Word (.docx), Markdown, HTML, plain text.",
    unrecognised_binary:
      "The file is not a PDF, Word document or text file. Supported: PDF, Word (.docx), Markdown, HTML, plain text.",
    file_empty: "The file is empty (0 bytes).",
    file_no_text: "The file has no text.",
    text_undecodable: "The text could not be decoded: it is not UTF-8, UTF-16 or GB18030.",
    document_empty: "Nothing to index: the document is empty once read.",
    html_no_text: "The HTML page has no text to extract.",
    docx_corrupt: "The Word document is corrupt ({problem}).",
    docx_no_text: "The Word document has no text.",
    docx_too_large: "The Word document unpacks to {size_mb} MB, over the {limit_mb} MB limit; it may be a zip bomb.",
    pdf_corrupt: "The PDF is corrupt or truncated ({problem}).",
    pdf_encrypted: "The PDF is encrypted and needs a password. Remove the password and upload it again.",
    pdf_no_pages: "The PDF has no pages.",
    pdf_scanned: "No text to extract: the PDF looks scanned or image-only ({pages:page|pages}). OCR is not supported.",
    pdf_garbled: "The PDF's text layer is unreadable (garbled font encoding). OCR is not supported.",
    pdf_page_bomb: "Page {page} of the PDF inflates beyond what can be read; the file looks built to exhaust memory.",
    parse_memory_limit: "The document needs more than {memory_mb} MB of memory to read: it is too large, or built to inflate when read.",
    parse_time_limit: "The document took longer than {seconds} s to read.",
    worker_out_of_memory: "The document needs more memory to read than the worker has.",
    parser_killed:
      "The reader was killed by {signal} while reading this document ({failures:time|times}); it was given up.",
    parser_exited:
      "The reader stopped with exit status {status} while reading this document ({failures:time|times}); it was given up.",
    worker_stopped_repeatedly:
      "The worker stopped {attempts} times while processing this document (killed or out of memory) and gave up.",
    job_cancelled: "Cancelled.",
    processing_failed: "An internal error stopped the processing ({kind}); the worker's log says more.",
    evaluation_interrupted: "The evaluation stopped before it finished: the service running it stopped or restarted. Start it again.",
    evaluation_failed: "An internal error stopped the evaluation ({kind}); the service log says more.",
    config_error: "The service is misconfigured; its log says how.",
    backend_unavailable: "A storage backend of the service failed; its log has the details.",
    upstream_failed: "The language model server failed; the service log has the details.",
    upstream_unreachable: "Could not connect to the language model server. Check that it is running.",
    upstream_status: "The language model server answered HTTP {status}.",
    upstream_status_key: "The language model server answered HTTP {status}: check the server's API key.",
    upstream_status_forbidden:
      "The language model server answered HTTP {status}: check its API key and that it may use this model.",
    upstream_status_model: "The language model server answered HTTP {status}: check the model name and the server address.",
    upstream_rate_limited: "The language model server is rate limiting (HTTP {status}); try again later.",
    upstream_not_event_stream: "The language model server did not answer with an event stream; check its address.",
    upstream_not_json: "The language model server sent data that is not JSON.",
    upstream_stream_broken: "The answer stream from the language model server broke off.",
    upstream_stream_incomplete: "The answer stream from the language model server ended before the answer was complete.",
    upstream_failed_mid_answer: "The language model server failed mid-answer.",
    upstream_timeout: "The language model server did not answer within {seconds} s; try again later.",
    local_model_failed: "The local model failed while answering; the service log has the details.",
    internal_error: "An internal error occurred; the service log has the details.",
  },
  "zh-CN": {
    api_key_required: "此服务需要 API 密钥。",
    api_key_invalid: "API 密钥无效或已被吊销。",
    collection_read_only: "此 API 密钥无权修改知识库“{collection}”。",
    admin_required: "管理 API 密钥需要具有管理员权限的密钥。",
    key_needs_scope: "密钥需要至少一种权限：读取、写入或管理。",
    key_not_found: "API 密钥“{key}”不存在。",
    collection_not_found: "知识库“{name}”不存在，请先创建。",
    collection_id_not_found: "知识库 {id} 不存在。",
    document_not_found: "该知识库中没有这个文档。",
    document_has_no_job: "这个文档没有处理任务。",
    job_not_found: "任务 {job} 不存在。",
    evaluation_not_found: "知识库中没有这次评测。",
    conversation_not_found: "该知识库中没有这个对话。",
    stored_file_missing: "存储的文件已丢失。",
    reembed_not_running: "这个知识库当前没有在重新嵌入。",
    reembed_no_longer_running: "这个知识库已不再重新嵌入。",
    route_not_found: "未找到。",
    method_not_allowed: "此处不允许 {method} 请求方法。",
    collection_exists: "名为“{name}”的知识库已存在。",
    conversation_has_no_question: "这个对话里没有可以重新回答的问题。",
    job_not_cancellable: "任务状态为 {state}；只有排队中或运行中的任务可以取消。",
    job_not_retriable: "任务状态为 {state}；只有失败或已取消的任务可以重试。",
    job_already_retried: "这个任务已经重试过了。",
    retry_of_refused_file: "该文件在添加时已被拒绝（{reason}），请改为添加修复后的文件。",
    reembed_running: "这个知识库正在重新嵌入。",
    evaluation_not_done: "这次评测尚未完成，完成后才有报告。",
    evaluation_running: "这个知识库的一次评测仍在进行，请等它完成或先删除它。",
    collection_reembedding: "知识库“{name}”正在重新嵌入。",
    reembed_taken_over: "另一个工作进程接管了这次重新嵌入。",
    model_already_used: "知识库“{name}”已经在使用 {model}。",
    embedding_model_unavailable: "此服务器无法打开嵌入模型 {model}。",
    collection_model_unavailable: "知识库“{name}”是用嵌入模型 {model} 创建的，此服务器无法打开该模型（当前使用 {current}）。",
    vectors_model_mismatch: "这个知识库的向量是用 {recorded} 生成的，而不是 {model}；服务器的嵌入模型必须一致。",
    query_model_mismatch: "知识库“{name}”是用 {model} 嵌入的，但此服务器用 {current} 嵌入问题。",
    data_dir_locked: "数据目录正被另一个进程使用。",
    too_many_files: "一次请求包含 {count} 个文件，最多允许 {limit} 个，请分批上传。",
    file_over_limit: "文件超过了 {limit_mb} MB 的上限。",
    files_over_limit: "这些文件总计超过 {limit_mb} MB，请分批上传。",
    upload_over_limit: "本次上传总计超过 {limit_mb} MB，请分批上传。",
    body_over_limit: "请求超过了 {limit_kb} KB。",
    file_too_large: "文件大小为 {size_mb} MB，超过了 {limit_mb} MB 的上限。",
    rate_limited: "请求过于频繁，请等待 {retry_after} 秒后重试。",
    auth_rate_limited: "使用错误 API 密钥的尝试过多，请等待 {retry_after} 秒后重试。",
    no_files: "请至少选择一个要上传的文件。",
    bad_request: "无法读取请求：{problem}",
    http_error: "请求失败：{problem}",
    body_not_json: "请求不是有效的 JSON：{problem}",
    field_missing: "缺少必填项“{field}”。",
    field_too_short: "“{field}”太短（至少 {limit}）。",
    field_too_long: "“{field}”太长（最多 {limit}）。",
    number_too_small: "“{field}”不能小于 {limit}。",
    number_too_large: "“{field}”不能大于 {limit}。",
    field_invalid: "“{field}”的值无效：{problem}",
    question_empty: "问题不能为空。",
    last_message_not_user: "对话必须以一个问题结尾。",
    chat_needs_user_message: "对话必须以一个问题结尾。",
    question_too_long: "问题有 {length} 个字符，上限为 {limit} 个。",
    too_many_messages: "对话有 {count} 条消息，上限为 {limit} 条，请开始新的对话。",
    messages_too_long: "对话共有 {chars} 个字符，上限为 {limit} 个，请开始新的对话。",
    qa_line_invalid: "{path} 第 {line} 行不是有效的问答行（{problem}）。",
    qa_file_empty: "{path} 中没有问题。",
    golden_file_missing: "请选择标准答案集文件（JSON Lines、SQuAD JSON 或 CSV）。",
    golden_too_many_questions: "标准答案集有 {count} 个问题，上限为 {limit}，请分几次评测。",
    content_refused: "这个问题包含不允许的内容，无法回答。",
    unsupported_type: "不支持此文件类型（{media_type}）。支持的格式：PDF、Word（.docx）、Markdown、HTML、纯文本。",
    unrecognised_binary: "该文件不是 PDF、Word 文档或文本文件。支持的格式：PDF、Word（.docx）、Markdown、HTML、纯文本。",
    file_empty: "文件是空的（0 字节）。",
    file_no_text: "文件中没有文字。",
    text_undecodable: "无法解码文本：它不是 UTF-8、UTF-16 或 GB18030 编码。",
    document_empty: "没有可索引的内容：文档读取后为空。",
    html_no_text: "这个 HTML 页面中没有可提取的文字。",
    docx_corrupt: "Word 文档已损坏（{problem}）。",
    docx_no_text: "Word 文档中没有文字。",
    docx_too_large: "Word 文档解压后有 {size_mb} MB，超过了 {limit_mb} MB 的上限，可能是压缩炸弹。",
    pdf_corrupt: "PDF 文件已损坏或不完整（{problem}）。",
    pdf_encrypted: "PDF 已加密，需要密码才能打开。请去除密码后重新上传。",
    pdf_no_pages: "PDF 没有任何页面。",
    pdf_scanned: "没有可提取的文字：这份 PDF 似乎是扫描件或纯图片（共 {pages} 页）。暂不支持 OCR。",
    pdf_garbled: "PDF 的文字层无法读取（字体编码错乱）。暂不支持 OCR。",
    pdf_page_bomb: "PDF 第 {page} 页解压后超出可读取的范围，该文件似乎是为耗尽内存而构造的。",
    parse_memory_limit: "读取该文档需要超过 {memory_mb} MB 内存：文件过大，或被构造为读取时膨胀。",
    parse_time_limit: "读取该文档超过了 {seconds} 秒。",
    worker_out_of_memory: "读取该文档所需的内存超过了工作进程可用的内存。",
    parser_killed: "读取该文档时解析进程被 {signal} 信号终止（共 {failures} 次），已放弃处理。",
    parser_exited: "读取该文档时解析进程异常退出（退出状态 {status}，共 {failures} 次），已放弃处理。",
    worker_stopped_repeatedly: "处理该文档时工作进程停止了 {attempts} 次（被终止或内存不足），已放弃处理。",
    job_cancelled: "已取消。",
    processing_failed: "处理时发生内部错误（{kind}），详情请查看工作进程日志。",
    evaluation_interrupted: "评测在完成前中断了：运行它的服务停止或重启了，请重新开始评测。",
    evaluation_failed: "评测时发生内部错误（{kind}），详情请查看服务日志。",
    config_error: "服务配置有误，详情请查看服务日志。",
    backend_unavailable: "服务的存储后端出错，详情请查看服务日志。",
    upstream_failed: "语言模型服务器出错，详情请查看服务日志。",
    upstream_unreachable: "无法连接到语言模型服务器，请确认它正在运行。",
    upstream_status: "语言模型服务器返回了 HTTP {status}。",
    upstream_status_key: "语言模型服务器返回了 HTTP {status}：请检查服务器的 API 密钥。",
    upstream_status_forbidden: "语言模型服务器返回了 HTTP {status}：请检查其 API 密钥以及是否有权使用该模型。",
    upstream_status_model: "语言模型服务器返回了 HTTP {status}：请检查模型名称和服务器地址。",
    upstream_rate_limited: "语言模型服务器正在限流（HTTP {status}），请稍后再试。",
    upstream_not_event_stream: "语言模型服务器没有以事件流作答，请检查其地址。",
    upstream_not_json: "语言模型服务器发送的数据不是 JSON。",
    upstream_stream_broken: "来自语言模型服务器的回答流中断了。",
    upstream_stream_incomplete: "来自语言模型服务器的回答流在回答完成前就结束了。",
    upstream_failed_mid_answer: "语言模型服务器在回答过程中出错。",
    upstream_timeout: "语言模型服务器在 {seconds} 秒内没有应答，请稍后再试。",
    local_model_failed: "本地模型在生成回答时出错，详情请查看服务日志。",
    internal_error: "发生了内部错误，详情请查看服务日志。",
  },
};

// Said before a message about one file of an upload of several (parameter `file`).
const ABOUT_FILE = { en: "“{file}”: ", "zh-CN": "“{file}”：" };

/** The code's words with its parameters; `{n:one|many}` picks English's singular or plural. */
function fill(template, params) {
  return template.replace(/\{(\w+)(?::([^|}]*)\|([^}]*))?\}/g, (whole, name, one, many) => {
    if (!(name in params)) return whole;
    const value = params[name];
    if (one === undefined) return String(value);
    return `${value} ${value === 1 ? one : many}`;
  });
}

/**
 * A server message ({code, params, message}: an error body, or a document's or job's
 * error_code, error_params and error) in the page's language; the English message where the
 * page does not know the code (an older page, a newer server, a row failed before codes).
 */
export function describe({ code, params, message }) {
  const words = MESSAGES[lang()] ?? MESSAGES.en;
  const template = code ? (words[code] ?? null) : null;
  if (template === null) return message ?? code ?? "";
  const values = { ...(params || {}) };
  if (values.reason_code) {
    values.reason = describe({ code: values.reason_code, params: values.reason_params, message: values.reason });
  }
  const text = fill(template, values);
  return "file" in values ? fill(ABOUT_FILE[lang()] ?? ABOUT_FILE.en, values) + text : text;
}

/** A document's or job's failure reason, as the API gives it. */
export const failureOf = (record) =>
  describe({ code: record.error_code, params: record.error_params, message: record.error });
