/* The support chat widget: one script a site adds. Plain JS, no dependencies, no build step.
   Every text from the server (answers, sources, notices) is set with textContent, never as HTML. */
(function () {
  "use strict";
  if (window.__supportWidget) return;
  window.__supportWidget = true;

  var script = document.currentScript;
  var base = new URL(script.src, window.location.href).origin;
  var openAtStart = script.getAttribute("data-open") === "true";
  var POLL_MS = 4000;
  // `heldUntil`: until then (Date.now() ms) the server refuses this address (a 429's Retry-After).
  var state = { csrf: "", labels: {}, language: "", lastId: 0, handoff: "none", busy: false, poller: null, heldUntil: 0 };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function label(key, fallback) { return state.labels[key] || fallback; }

  // Right-to-left text (Arabic, Persian, Hebrew), as `bot.unicode.right_to_left` tells it: three words in ten
  // or more, links aside, in a right-to-left script. An Arabic sentence that opens with a Latin product name
  // ("Parcelly تعيد المبلغ…") is right to left, where its first letter (`dir="auto"`) made it left to right
  // and put the name at its end; an English passage quoted under an Arabic note stays left to right. "" for
  // a line without words ("👍", "…").
  var RTL_WORD = /^[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/;
  var LINK = /(?:https?:\/\/|www\.)\S+/gi;
  function direction(text) {
    var words = text.replace(LINK, " ").match(/\p{L}[\p{L}\p{M}]*/gu) || [];
    if (!words.length) return "";
    var rtl = words.filter(function (word) { return RTL_WORD.test(word); }).length;
    return rtl * 10 >= words.length * 3 ? "rtl" : "ltr";
  }
  // A message's text, each line isolated in its own direction; the message takes its whole text's, which
  // places its lines, sources and buttons. The text itself is unchanged (`textContent`).
  function setText(item, text) {
    var node = item.querySelector(".sbw-text");
    node.replaceChildren();
    text.split("\n").forEach(function (line, i) {
      if (i) node.appendChild(document.createTextNode("\n"));
      var dir = direction(line);
      node.appendChild(dir ? el("span", { dir: dir }, line) : document.createTextNode(line));
    });
    var whole = direction(text);
    if (whole) item.setAttribute("dir", whole); else item.removeAttribute("dir");
  }

  var css = el("link", { rel: "stylesheet", href: base + "/static/widget.css" });
  document.head.appendChild(css);

  // On a page written right to left (an Arabic site) the widget sits in the bottom left corner, at the end of
  // its lines, as it sits at their end on the right of a left-to-right page; it stays there whatever language
  // the visitor writes in.
  var root = el("div", { class: getComputedStyle(document.documentElement).direction === "rtl" ? "sbw sbw-left" : "sbw" });
  var launcher = el("button", { type: "button", class: "sbw-launcher", "aria-expanded": "false",
    "aria-controls": "sbw-panel" }, "💬 Chat with us");
  var panel = el("section", { class: "sbw-panel", id: "sbw-panel", "aria-labelledby": "sbw-title" });
  panel.hidden = true;
  var header = el("header", { class: "sbw-header" });
  var title = el("h2", { class: "sbw-title", id: "sbw-title" }, "Support");
  var newButton = el("button", { type: "button", class: "sbw-new" }, "New conversation");
  var closeButton = el("button", { type: "button", class: "sbw-close", "aria-label": "Close chat" }, "×");
  header.append(title, newButton, closeButton);
  var log = el("div", { class: "sbw-log", role: "log", "aria-live": "polite", "aria-label": "Conversation",
    tabindex: "0" });
  var form = el("form", { class: "sbw-form" });
  // No maxlength: a paste over the limit would be cut silently, losing the question at its end; the server
  // answers an over-long message with a notice that says so.
  var input = el("textarea", { class: "sbw-input", "aria-label": "Message", rows: "2", dir: "auto" });
  var send = el("button", { type: "submit", class: "sbw-send" }, "Send");
  form.append(input, send);
  panel.append(header, log, form);
  root.append(launcher, panel);
  document.body.appendChild(root);

  // A focus never scrolls the host page: the widget is fixed in its corner, and the visitor stays where
  // they were reading.
  function focus(node) { node.focus({ preventScroll: true }); }
  // A phone or tablet (or a narrow window): a focused box there brings up the on-screen keyboard over the
  // page the visitor has not even seen yet.
  var SMALL_OR_TOUCH = "(max-width: 600px), (pointer: coarse)";
  // `byVisitor`: opened or closed by the visitor (not by `data-open` at load), who is there to type.
  function setOpen(open, byVisitor) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (!byVisitor && window.matchMedia(SMALL_OR_TOUCH).matches) return;
    if (open) focus(input); else if (byVisitor) focus(launcher);
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
  closeButton.addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") setOpen(false, true);
  });
  input.addEventListener("keydown", function (event) {
    // Enter sends, Shift+Enter starts a new line.
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function addMessage(role, text) {
    var item = el("div", { class: "sbw-msg sbw-" + role });
    item.appendChild(el("p", { class: "sbw-text" }));
    setText(item, text);
    log.appendChild(item);
    scrollDown();
    return item;
  }

  function safeHref(href) {
    if (/^https?:\/\//i.test(href)) return href;
    if (href.charAt(0) === "/") return base + href;
    return "#";
  }

  function api(path, options) {
    options = options || {};
    options.credentials = "include";
    options.headers = options.headers || {};
    if (options.method === "POST") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = state.csrf;
    }
    return fetch(base + path, options);
  }

  // A 429 with Retry-After (the per-address limit): sending is held back until it passes, since every
  // request before then is refused too. Whatever was typed meanwhile stays in the box.
  function held() { return Date.now() < state.heldUntil; }
  function updateSend() { send.disabled = state.busy || held(); }
  function holdFor(response) {
    var seconds = parseInt(response.headers.get("Retry-After") || "", 10);
    if (!(seconds > 0)) return;
    state.heldUntil = Math.max(state.heldUntil, Date.now() + seconds * 1000);
    updateSend();
    afterHold(updateSend);
  }
  function afterHold(then) {
    if (held()) window.setTimeout(function () { afterHold(then); }, state.heldUntil - Date.now());
    else then();
  }

  // `error` is for developers, in English; a visitor reads `message` (already in their language) or a label
  // chosen by the status.
  async function errorText(response) {
    if (response.status === 429) holdFor(response);
    try { var body = await response.json(); if (body.message) return body.message; } catch (e) { /* not JSON */ }
    if (response.status === 429) return label("flood", "You're sending a lot of messages in a row. Please wait a few seconds, then send this one again.");
    if (response.status === 503) return label("dbDown", "Sorry, I can't take messages right now. Please try again in a few minutes.");
    return label("error", "Sorry, something went wrong. Please try again in a moment.");
  }

  function addRating(item, answerId, rating) {
    var bar = el("div", { class: "sbw-actions" });
    var up = el("button", { type: "button", class: "sbw-up", "aria-label": label("helpful", "Helpful"),
      "aria-pressed": rating === "up" ? "true" : "false" }, "👍");
    var down = el("button", { type: "button", class: "sbw-down", "aria-label": label("notHelpful", "Not helpful"),
      "aria-pressed": rating === "down" ? "true" : "false" }, "👎");
    var status = el("p", { class: "sbw-status", role: "status" });
    bar.append(up, down);
    item.append(bar, status);
    async function rate(value) {
      up.setAttribute("aria-pressed", value === "up" ? "true" : "false");
      down.setAttribute("aria-pressed", value === "down" ? "true" : "false");
      var response = await api("/api/feedback", { method: "POST",
        body: JSON.stringify({ answer_id: answerId, rating: value }) });
      status.textContent = response.ok ? (await response.json()).text : await errorText(response);
      if (response.ok && value === "down") addComment(item, answerId, status);
    }
    up.addEventListener("click", function () { rate("up"); });
    down.addEventListener("click", function () { rate("down"); });
  }

  function addComment(item, answerId, status) {
    if (item.querySelector(".sbw-comment")) return;
    var box = el("form", { class: "sbw-comment" });
    var text = el("textarea", { rows: "2", maxlength: "2000", dir: "auto", "aria-label": label("comment", "What was wrong? (optional)"),
      placeholder: label("comment", "What was wrong? (optional)") });
    var submit = el("button", { type: "submit" }, label("commentSend", "Send comment"));
    box.append(text, submit);
    item.insertBefore(box, status);
    text.focus();
    text.addEventListener("keydown", function (event) {
      // As in the message box: Enter sends, Shift+Enter starts a new line.
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); box.requestSubmit(); }
    });
    box.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!text.value.trim()) return;
      var response = await api("/api/feedback", { method: "POST",
        body: JSON.stringify({ answer_id: answerId, comment: text.value }) });
      status.textContent = response.ok ? (await response.json()).text : await errorText(response);
      if (response.ok) box.remove();
    });
  }

  function addHuman(item) {
    var button = el("button", { type: "button", class: "sbw-human" }, label("human", "Talk to a human"));
    item.appendChild(button);
    button.addEventListener("click", async function () {
      button.disabled = true;
      var response = await api("/api/handoff", { method: "POST", body: "{}" });
      if (!response.ok) { addMessage("notice", await errorText(response)); button.disabled = false; return; }
      var body = await response.json();
      addMessage("notice", body.text);
      setHandoff(body.handoff);
    });
  }

  function renderSources(item, title, sources, extraClass) {
    if (!sources || !sources.length) return;
    var wrap = el("div", { class: "sbw-sources" + (extraClass ? " " + extraClass : "") });
    wrap.appendChild(el("p", { class: "sbw-sources-title" }, title));
    var list = el("ul");
    sources.forEach(function (source) {
      var li = el("li");
      // The mark the answer's text cites this source by ("[2]"), so the two can be matched.
      if (source.label) li.appendChild(el("span", { class: "sbw-source-label" }, source.label + " "));
      // Named in the help center's language, which may read the other way.
      var dir = direction(source.title) || "auto";
      li.appendChild(source.href
        ? el("a", { href: safeHref(source.href), target: "_blank", rel: "noopener noreferrer", dir: dir }, source.title)
        : el("span", { dir: dir }, source.title));
      list.appendChild(li);
    });
    wrap.appendChild(list);
    item.appendChild(wrap);
  }

  function renderAnswer(item, data) {
    setText(item, data.text);
    renderSources(item, label("sources", "Sources"), data.sources, "");
    // Other sections the search found: the article the visitor meant may be one of them.
    renderSources(item, label("seeAlso", "See also"), data.see_also, "sbw-see-also");
    if (data.rateable && data.answer_id) addRating(item, data.answer_id, data.rating || null);
    if (data.offer_human) addHuman(item);
    scrollDown();
  }

  function setHandoff(handoff) {
    var was = state.handoff;
    state.handoff = handoff || "none";
    if (state.handoff !== "none" && !state.poller) {
      state.poller = window.setInterval(poll, POLL_MS);
    } else if (state.handoff === "none" && state.poller) {
      window.clearInterval(state.poller);
      state.poller = null;
      if (was !== "none") addMessage("notice", label("handoffEnded", "The support agent has closed this chat."));
    }
  }

  async function poll() {
    try {
      var response = await api("/api/updates?after=" + encodeURIComponent(state.lastId));
      if (!response.ok) return;
      var body = await response.json();
      body.messages.forEach(function (m) { addMessage("operator", m.text); });
      state.lastId = Math.max(state.lastId, body.last_id);
      setHandoff(body.handoff);
    } catch (e) { /* offline for a moment: the next poll tries again */ }
  }

  function handleEvent(raw, item, streamed) {
    var name = "message", data = "";
    raw.split("\n").forEach(function (line) {
      if (line.indexOf("event: ") === 0) name = line.slice(7);
      else if (line.indexOf("data: ") === 0) data += line.slice(6);
    });
    if (!data) return streamed;
    var payload = JSON.parse(data);
    if (name === "waiting") {
      // The place in line, shown where the answer will stream; the first delta replaces it.
      if (!streamed) { setText(item, payload.text); scrollDown(); }
      return streamed;
    }
    if (name === "delta") {
      streamed += payload.text;
      setText(item, streamed);
      scrollDown();
      return streamed;
    }
    if (name === "reply") {
      item.removeAttribute("aria-busy");
      if (payload.kind === "answer") {
        applyLabels(payload);
        renderAnswer(item, payload);
        if (payload.handed_off) setHandoff("requested");
      } else if (payload.kind === "new_conversation") {
        startedOver(payload.text);  // a typed /new: what the "New conversation" button does
      } else if (payload.kind === "forwarded") {
        item.className = "sbw-msg sbw-notice";
        setText(item, label("forwarded", "Your message was passed on to a person from our support team."));
        setHandoff(state.handoff === "none" ? "requested" : state.handoff);
      } else {
        item.className = "sbw-msg sbw-notice";
        setText(item, payload.text);
        if (payload.refused) item.setAttribute("data-refused", "true");
      }
    }
    return streamed;
  }

  // The flood rule's first refusal comes as the answer's notice (its later ones, like the other limits, as
  // a 429), marked `refused` by the server.
  function isFloodNotice(item) {
    // The server marks it (`refused`), in whatever language the message was written in; the label match
    // stays for a server that does not.
    if (item.getAttribute("data-refused") === "true") return true;
    var flood = label("flood", "");
    return flood !== "" && item.className === "sbw-msg sbw-notice" &&
      item.querySelector(".sbw-text").textContent === flood;
  }

  // Reads an answer's Server-Sent Events into `item` until the final reply; true when the question was
  // refused by a limit (and so is to be sent again).
  async function follow(response, item) {
    if (!response.ok || !response.body) {
      item.removeAttribute("aria-busy");
      item.className = "sbw-msg sbw-notice";
      setText(item, await errorText(response));
      return response.status === 429;
    }
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "", streamed = "";
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        var events = buffer.split("\n\n");
        buffer = events.pop();
        for (var i = 0; i < events.length; i++) streamed = handleEvent(events[i], item, streamed);
      }
      if (buffer.trim()) handleEvent(buffer, item, streamed);
    } catch (e) { /* the connection broke: said below */ }
    if (item.getAttribute("aria-busy") === "true") {
      // The stream ended without its final reply: say so rather than leave "…" (or half an answer).
      item.removeAttribute("aria-busy");
      item.className = "sbw-msg sbw-notice";
      setText(item, label("error", "Sorry, something went wrong. Please try again in a moment."));
    }
    return isFloodNotice(item);
  }

  function thinking() {
    var item = addMessage("assistant", label("thinking", "…"));
    item.setAttribute("aria-busy", "true");
    return item;
  }

  // True when the question was refused by a limit.
  async function ask(text) {
    addMessage("user", text);
    var item = thinking();
    var response;
    try {
      response = await api("/api/ask", { method: "POST", body: JSON.stringify({ text: text }) });
    } catch (e) {
      item.removeAttribute("aria-busy");
      setText(item, label("error", "Sorry, something went wrong."));
      return false;
    }
    return follow(response, item);
  }

  // The page was reloaded (or left for another page) while an answer streamed: the server went on writing
  // it, and the widget follows it again from its start.
  async function resume() {
    var item = thinking();
    var response;
    try { response = await api("/api/resume"); } catch (e) { response = null; }
    if (!response) {
      item.removeAttribute("aria-busy");
      setText(item, label("error", "Sorry, something went wrong."));
      return;
    }
    await follow(response, item);
  }

  async function busyWhile(work) {
    state.busy = true;
    updateSend();
    try { await work(); } finally { state.busy = false; updateSend(); }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || state.busy || held()) return;
    if (!state.csrf) {
      // Sent before the session came back: it waits for it (without its CSRF token the ask is refused, and
      // the visitor read "something went wrong"); without one (refused for a while), it stays in the box.
      await busyWhile(function () { return session; });
      // Refused otherwise (the database down, a network error): asked for again, once per send; its notice
      // says why, and the question stays in the box.
      if (!state.csrf && !held()) await busyWhile(function () { return (session = start()); });
      if (!state.csrf) return;
    }
    input.value = "";
    var refused = false;
    await busyWhile(async function () { refused = await ask(text); });
    // The notice asks to send it again: it is back in the box, unless something new was typed meanwhile.
    if (refused && !input.value) input.value = text;
    focus(input);
  });

  // The server started a new conversation (the button, or a typed /new): an empty log and its notice.
  function startedOver(text) {
    log.replaceChildren();
    // The visitor left the handoff: stop polling without "the support agent has closed this chat".
    state.handoff = "none";
    setHandoff("none");
    addMessage("notice", text);
  }

  newButton.addEventListener("click", async function () {
    var response = await api("/api/new", { method: "POST", body: "{}" });
    if (!response.ok) { addMessage("notice", await errorText(response)); return; }
    startedOver((await response.json()).text);
    focus(input);
  });

  // The widget's own words in `body.language` (the session's, then each answer's: a visitor whose browser
  // says English and who writes Chinese reads "来源" and "发送" from that answer on, not after a reload).
  function applyLabels(body) {
    if (!body.labels || (state.language && body.language === state.language)) return;
    state.labels = body.labels;
    state.language = body.language || "";
    title.textContent = label("title", "Support");
    newButton.textContent = label("new", "New conversation");
    launcher.textContent = "💬 " + label("open", "Chat with us");
    closeButton.setAttribute("aria-label", label("close", "Close chat"));
    log.setAttribute("aria-label", label("title", "Support"));
    // Screen readers pronounce the widget in the visitor's language, whatever the host page's; its header,
    // launcher and buttons are laid out in that language's direction (Arabic's, Persian's and Hebrew's right
    // to left).
    if (body.language) root.setAttribute("lang", body.language);
    root.setAttribute("dir", body.dir || "ltr");
    input.setAttribute("aria-label", label("message", "Message"));
    send.textContent = label("send", "Send");
  }

  async function start() {
    var response;
    try {
      response = await api("/api/session");
    } catch (e) {
      addMessage("notice", label("error", "Sorry, something went wrong."));
      return;
    }
    if (!response.ok) {
      addMessage("notice", await errorText(response));
      // Refused for a while (429): without a session nothing can be sent, so ask for one again after it.
      if (response.status === 429 && held()) afterHold(function () { session = start(); });
      return;
    }
    var body = await response.json();
    state.csrf = body.csrf;
    applyLabels(body);
    if (!body.messages.length) addMessage("notice", label("greeting", "Hi! Ask me a question."));
    body.messages.forEach(function (m) {
      var item = addMessage(m.role === "operator" ? "operator" : m.role, m.text);
      if (m.role === "assistant") renderAnswer(item, m);
    });
    state.lastId = body.last_id || 0;
    if (body.handoff !== "none") { state.handoff = body.handoff; setHandoff(body.handoff); }
    if (body.pending) await busyWhile(resume);
  }

  var session = start();
  if (openAtStart) setOpen(true, false);
})();
