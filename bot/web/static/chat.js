/* Web chat page for the community services bot.
 * Plain JS, no build step. Talks to the same-origin JSON protocol under /chat/api/
 * (long-poll events; POST send / callback / location); identity is an HttpOnly cookie.
 * All user-facing text comes from the server-translated #ui-strings JSON. */
(function () {
  "use strict";

  const API = "/chat/api";
  const $ = (id) => document.getElementById(id);
  let ui = {};
  try { ui = JSON.parse($("ui-strings").textContent) || {}; } catch (e) { /* keep {} */ }
  const t = (key, fallback) => (typeof ui[key] === "string" ? ui[key] : fallback || key);
  const lang = document.documentElement.lang || undefined;

  const log = $("log"), inner = $("log-inner"), statusEl = $("status");
  const input = $("composer-input"), sendBtn = $("composer-send");
  const menuBtn = $("menu-btn"), menu = $("menu"), menuList = $("menu-list");
  const replyKb = $("reply-kb"), toast = $("toast"), dialog = $("alert-dialog");
  const photoInput = $("photo-input"), largeBtn = $("large-text");

  const bubbles = new Map(); // message_id -> .msg element
  const pending = new Map(); // client_id -> {el, text}: our messages not yet echoed back
  let lastSeq = 0;
  let loaded = false;        // false while the first (history replay) batch is handled
  let stick = true;          // keep the transcript pinned to the bottom?
  let announcements = [];

  // el("a", {href: ..}, "text") -> element with properties assigned.
  function el(tag, props, text) {
    const e = Object.assign(document.createElement(tag), props);
    if (text != null) e.textContent = text;
    return e;
  }

  /* ---------- Safe rendering of Telegram-style HTML ---------- */

  const TAGS = {
    B: "b", STRONG: "strong", I: "i", EM: "em", U: "u", INS: "ins", S: "s", STRIKE: "s",
    DEL: "del", CODE: "code", PRE: "pre", BLOCKQUOTE: "blockquote",
  };
  const LINK_SCHEMES = ["http:", "https:", "tg:"];

  // Absolute http/https/tg URL, or (with base) an http(s) URL resolved against the page.
  function safeUrl(raw, base) {
    if (typeof raw !== "string" || !raw.trim()) return null;
    try {
      const u = new URL(raw.trim(), base);
      return (base ? ["http:", "https:"] : LINK_SCHEMES).includes(u.protocol) ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function externalLink(href, cls, text) {
    const a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, text);
    if (cls) a.className = cls;
    return a;
  }

  // DOMParser documents are inert (no scripts run, no images load), so untrusted
  // markup is parsed there and only whitelisted nodes are rebuilt in the page.
  function safeFragment(html) {
    const doc = new DOMParser().parseFromString(html == null ? "" : String(html), "text/html");
    const frag = document.createDocumentFragment();
    copyChildren(doc.body, frag);
    return frag;
  }

  function copyChildren(src, dst) {
    for (const node of src.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) dst.appendChild(document.createTextNode(node.data));
      else if (node.nodeType === Node.ELEMENT_NODE) dst.appendChild(cleanElement(node));
    }
  }

  function cleanElement(node) {
    const name = node.tagName.toUpperCase();
    if (name === "BR") return document.createTextNode("\n");
    if (name === "SCRIPT" || name === "STYLE") return document.createTextNode("");
    let out = null;
    if (name === "A") {
      const href = safeUrl(node.getAttribute("href"));
      if (href) out = externalLink(href);
    } else if (name === "TG-SPOILER" || (name === "SPAN" && node.classList.contains("tg-spoiler"))) {
      out = el("span", { className: "spoiler", tabIndex: 0 });
    } else if (Object.prototype.hasOwnProperty.call(TAGS, name)) {
      out = el(TAGS[name]);
    }
    // Anything else loses its tag and attributes but keeps its text.
    if (!out) out = document.createDocumentFragment();
    copyChildren(node, out);
    return out;
  }

  /* ---------- Messages ---------- */

  function buildBubble(from) {
    const msg = el("div", { className: "msg " + from });
    const bubble = el("div", { className: "bubble" });
    bubble.append(el("div", { className: "media", hidden: true }), el("div", { className: "body" }),
      el("time", { className: "meta" }));
    msg.appendChild(bubble);
    return msg;
  }

  function setBody(msg, html) {
    const body = msg.querySelector(".body");
    body.textContent = "";
    body.appendChild(safeFragment(html));
    body.hidden = !body.textContent;
  }

  function setTime(msg, unix) {
    const d = Number.isFinite(unix) ? new Date(unix * 1000) : new Date();
    const time = msg.querySelector(".meta");
    time.dateTime = d.toISOString();
    time.textContent = d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }

  function setMedia(msg, ev) {
    const media = msg.querySelector(".media");
    const url = safeUrl(ev.url, location.href); // files are usually same-origin paths
    media.textContent = "";
    if (url && ev.type === "photo") {
      media.appendChild(el("img", { src: url, alt: safeFragment(ev.caption_html).textContent.trim() }));
    } else if (url && ev.type === "document") {
      const a = el("a", { className: "file", href: url, download: ev.filename || "" });
      const text = el("span", { className: "file-text" });
      text.append(el("span", { className: "file-label" }, t("download")),
        el("span", { className: "file-name" }, ev.filename || ""));
      a.appendChild(text);
      media.appendChild(a);
    }
    media.hidden = !media.firstChild;
  }

  function renderMessage(ev) {
    const from = ev.from === "user" ? "user" : "bot";
    let msg = bubbles.get(ev.message_id);
    const own = from === "user" && ev.client_id && pending.get(ev.client_id);
    if (own) {
      // Our optimistic bubble came back from the server: confirm it in place.
      msg = own.el;
      pending.delete(ev.client_id);
      msg.classList.remove("pending", "failed");
      msg.querySelector(".retry")?.remove();
    }
    const isNew = !msg;
    if (isNew) inner.appendChild((msg = buildBubble(from)));
    msg.dataset.messageId = ev.message_id;
    bubbles.set(ev.message_id, msg);
    setMedia(msg, ev);
    setBody(msg, ev.type === "message" ? ev.html : ev.caption_html);
    msg.classList.toggle("redacted", !!ev.redacted);
    setTime(msg, ev.date);
    setKeyboard(msg, ev.buttons, ev.message_id);
    if (isNew && from === "bot") announce(msg);
    if (ev.remove_keyboard) setReplyKeyboard(null);
    else if (Array.isArray(ev.reply_keyboard)) setReplyKeyboard(ev.reply_keyboard);
  }

  function editMessage(ev) {
    const msg = bubbles.get(ev.message_id);
    if (!msg) return;
    // Only touch what the event carries, so a markup-only edit keeps the text.
    const html = typeof ev.html === "string" ? ev.html : ev.caption_html;
    if (typeof html === "string") setBody(msg, html);
    if ("buttons" in ev) setKeyboard(msg, ev.buttons, ev.message_id);
    else releaseKeyboard(msg.querySelector(".keyboard"));
    if (msg.classList.contains("bot")) announce(msg);
  }

  function deleteMessage(ev) {
    const msg = bubbles.get(ev.message_id);
    if (!msg) return;
    // Keep focus in the page without popping up the phone keyboard.
    if (msg.contains(document.activeElement)) log.focus({ preventScroll: true });
    msg.remove();
    bubbles.delete(ev.message_id);
  }

  // The person's own message was deleted (e.g. an ID number): only a placeholder stays.
  function redactMessage(ev) {
    const msg = bubbles.get(ev.message_id);
    if (!msg) return;
    setMedia(msg, {});
    setBody(msg, typeof ev.html === "string" ? ev.html : t("deleted"));
    msg.classList.add("redacted");
  }

  // Queue a bot message for screen readers via #live (flushed once per event batch).
  function announce(msg) {
    if (!loaded) return; // never read the replayed history aloud
    const text = msg.querySelector(".media").textContent + " " + msg.querySelector(".body").textContent;
    if (text.trim()) announcements.push(text.trim());
  }

  /* ---------- Inline keyboards ---------- */

  function setKeyboard(msg, rows, messageId) {
    const old = msg.querySelector(".keyboard");
    // A keyboard user who pressed a button gets focus on the replacement keyboard.
    const refocus = old && (old.contains(document.activeElement) || old.dataset.refocus);
    if (old) {
      clearTimeout(old._timer);
      old.remove();
    }
    const kb = el("div", { className: "keyboard" });
    for (const row of Array.isArray(rows) ? rows : []) {
      const line = el("div", { className: "kb-row" });
      for (const b of Array.isArray(row) ? row : []) {
        if (!b || typeof b.text !== "string") continue;
        if (b.url) {
          const href = safeUrl(b.url);
          if (href) line.appendChild(externalLink(href, "inline-btn url-btn", b.text));
        } else {
          const btn = el("button", { type: "button", className: "inline-btn" }, b.text);
          btn.addEventListener("click", () => pressInline(kb, btn, messageId, String(b.data ?? "")));
          line.appendChild(btn);
        }
      }
      if (line.firstChild) kb.appendChild(line);
    }
    if (kb.firstChild) msg.appendChild(kb);
    if (refocus) (kb.querySelector(".inline-btn") || log).focus({ preventScroll: true });
  }

  async function pressInline(kb, btn, messageId, data) {
    if (kb.classList.contains("busy")) return;
    if (document.activeElement === btn) kb.dataset.refocus = "1";
    // Disabled until the bot reacts (edit, answer, any event for this message) or 10 s pass.
    kb.classList.add("busy");
    btn.classList.add("pressed");
    kb.querySelectorAll("button.inline-btn").forEach((b) => { b.disabled = true; });
    kb._timer = setTimeout(() => releaseKeyboard(kb), 10000);
    try {
      await post("/callback", { message_id: messageId, data: data });
    } catch (e) {
      releaseKeyboard(kb);
      showToast(t("offline"));
    }
  }

  function releaseKeyboard(kb) {
    if (!kb || !kb.classList.contains("busy")) return;
    clearTimeout(kb._timer);
    kb.classList.remove("busy");
    kb.querySelectorAll("button.inline-btn").forEach((b) => {
      b.disabled = false;
      b.classList.remove("pressed");
    });
    if (kb.dataset.refocus && kb.isConnected) kb.querySelector(".inline-btn")?.focus({ preventScroll: true });
    delete kb.dataset.refocus;
  }

  /* ---------- Reply keyboard, location, command menu ---------- */

  function setReplyKeyboard(rows) {
    replyKb.textContent = "";
    for (const row of rows || []) {
      const line = el("div", { className: "kb-row" });
      for (const b of Array.isArray(row) ? row : []) {
        if (!b || typeof b.text !== "string") continue;
        const btn = el("button", { type: "button", className: "reply-btn" }, b.text);
        // Browsers have no contact API, so request_contact just sends the button text.
        btn.addEventListener("click", () => (b.request_location ? shareLocation(btn) : sendText(b.text)));
        line.appendChild(btn);
      }
      if (line.firstChild) replyKb.appendChild(line);
    }
    replyKb.hidden = !replyKb.firstChild;
  }

  function shareLocation(btn) {
    if (!navigator.geolocation) return notice(t("location_denied"));
    btn.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (pos) => { btn.disabled = false; sendLocation(pos.coords.latitude, pos.coords.longitude); },
      () => { btn.disabled = false; notice(t("location_denied")); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  async function sendLocation(latitude, longitude) {
    try {
      await post("/location", { latitude: latitude, longitude: longitude });
    } catch (e) {
      notice(t("failed_send"), () => sendLocation(latitude, longitude));
    }
  }

  // A client-side line in the transcript (not a message), optionally a retry button.
  function notice(text, retry) {
    const p = el("p", { className: "notice" }, retry ? null : text);
    p.setAttribute("role", "status");
    if (retry) {
      const b = el("button", { type: "button" }, text);
      b.addEventListener("click", () => { p.remove(); retry(); });
      p.appendChild(b);
    }
    inner.appendChild(p);
    stick = true;
    scrollBottom();
  }

  function setCommands(list) {
    menuList.textContent = "";
    for (const c of Array.isArray(list) ? list : []) {
      if (!c || typeof c.command !== "string" || !c.command) continue;
      const cmd = "/" + c.command.replace(/^\//, "");
      const btn = el("button", { type: "button", className: "menu-item" });
      btn.append(el("span", { className: "menu-cmd" }, cmd), el("span", { className: "menu-desc" }, c.description || ""));
      btn.addEventListener("click", () => { openMenu(false); sendText(cmd); });
      menuList.appendChild(el("li")).appendChild(btn);
    }
    menuBtn.hidden = !menuList.firstChild;
    if (menuBtn.hidden) openMenu(false);
  }

  function openMenu(open, returnFocus) {
    menu.hidden = !open;
    menuBtn.setAttribute("aria-expanded", String(open));
    if (open) menuList.querySelector("button")?.focus();
    else if (returnFocus) menuBtn.focus();
  }

  /* ---------- Sending ---------- */

  function uuid() {
    // crypto.randomUUID only exists in secure contexts (https / localhost).
    if (crypto.randomUUID) return crypto.randomUUID();
    const h = Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, "0"));
    h[6] = "4" + h[6][1];
    h[8] = "89ab"[parseInt(h[8], 16) >> 6] + h[8][1];
    return [h.slice(0, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10)].map((p) => p.join("")).join("-");
  }

  function sendText(raw) {
    const text = String(raw).trim().slice(0, 4096);
    if (!text) return;
    const clientId = uuid();
    const msg = buildBubble("user");
    msg.classList.add("pending");
    msg.dataset.clientId = clientId;
    msg.querySelector(".body").textContent = text;
    setTime(msg);
    inner.appendChild(msg);
    pending.set(clientId, { el: msg, text: text });
    updateEmpty();
    stick = true;
    scrollBottom();
    deliver(clientId);
  }

  async function deliver(clientId) {
    const p = pending.get(clientId);
    if (!p) return;
    p.el.classList.replace("failed", "pending");
    p.el.querySelector(".retry")?.remove();
    try {
      // The same client_id on retry lets the server de-duplicate if the first POST did land.
      await post("/send", { text: p.text, client_id: clientId });
      p.el.classList.remove("pending"); // accepted; the echo event will confirm it
    } catch (e) {
      if (!pending.has(clientId)) return; // the echo already arrived, so it was sent
      p.el.classList.replace("pending", "failed");
      const retry = el("button", { type: "button", className: "retry" }, t("failed_send"));
      retry.addEventListener("click", () => deliver(clientId));
      p.el.appendChild(retry);
    }
  }

  // fetch + JSON with a hard timeout (a sleeping phone can leave requests hanging).
  async function request(path, options, timeoutMs) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      const init = { credentials: "same-origin", cache: "no-store", signal: ctrl.signal };
      const r = await fetch(API + path, Object.assign(init, options));
      if (r.status === 401) reloadForNewSession();
      // Too fast (429) or the service is down (503): the server's translated words, shown.
      if (r.status === 429 || r.status === 503) {
        const j = await r.json().catch(() => null);
        if (j && typeof j.message === "string") showToast(j.message);
      }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return await r.json();
    } finally {
      clearTimeout(timer);
    }
  }

  // The identity cookie is missing or no longer valid: loading the page issues a new one.
  // At most once a minute, so a browser that refuses cookies does not reload forever.
  function reloadForNewSession() {
    const last = Number(sessionStorage.getItem("wushe-reload") || 0);
    if (Date.now() - last < 60000) return;
    sessionStorage.setItem("wushe-reload", String(Date.now()));
    window.location.reload();
  }

  async function post(path, body) {
    const options = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const j = await request(path, options, 15000);
    if (j && j.ok === false) throw new Error("rejected");
    return j;
  }

  /* ---------- Large text (kept on the person, server-side) ---------- */

  function applySettings(settings) {
    if (settings && typeof settings.large_text === "boolean") setLargeText(settings.large_text, false);
  }

  async function setLargeText(on, save) {
    document.documentElement.classList.toggle("large", on);
    largeBtn.setAttribute("aria-pressed", String(on));
    $("large-text-label").textContent = t("large_text");
    largeBtn.title = t(on ? "large_text_on" : "large_text_off");
    if (stick) scrollBottom();
    if (!save) return;
    showToast(t(on ? "large_text_on" : "large_text_off"));
    try {
      await post("/settings", { large_text: on });
    } catch (e) {
      showToast(t("offline"));
    }
  }

  /* ---------- Photos ---------- */

  function sendPhoto(file) {
    const clientId = uuid();
    const msg = buildBubble("user");
    msg.classList.add("pending");
    msg.dataset.clientId = clientId;
    const media = msg.querySelector(".media");
    media.appendChild(el("img", { src: URL.createObjectURL(file), alt: t("photo") }));
    media.hidden = false;
    msg.querySelector(".body").hidden = true;
    setTime(msg);
    inner.appendChild(msg);
    pending.set(clientId, { el: msg, file: file });
    updateEmpty();
    stick = true;
    scrollBottom();
    deliverPhoto(clientId);
  }

  async function deliverPhoto(clientId) {
    const p = pending.get(clientId);
    if (!p) return;
    p.el.classList.replace("failed", "pending");
    p.el.querySelector(".retry")?.remove();
    const form = new FormData();
    form.append("client_id", clientId);
    form.append("photo", p.file, p.file.name || "photo.jpg");
    let refused = null;
    try {
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), 60000);
      let r;
      try {
        r = await fetch(API + "/photo", { method: "POST", body: form, credentials: "same-origin", signal: ctrl.signal });
      } finally {
        clearTimeout(timer);
      }
      if (r.status === 401) reloadForNewSession();
      if (r.ok) {
        p.el.classList.remove("pending");
        return;
      }
      const j = await r.json().catch(() => ({}));
      refused = j && j.error;
    } catch (e) { /* network: offer a retry below */ }
    if (!pending.has(clientId)) return;
    if (refused === "photo_too_big" || refused === "not_a_photo") {
      // Nothing to retry: say why, and take the bubble away.
      pending.delete(clientId);
      p.el.remove();
      updateEmpty();
      notice(t(refused));
      return;
    }
    p.el.classList.replace("pending", "failed");
    const retry = el("button", { type: "button", className: "retry" }, t("photo_failed"));
    retry.addEventListener("click", () => deliverPhoto(clientId));
    p.el.appendChild(retry);
  }

  /* ---------- Long poll ---------- */

  let wake = null;
  function sleep(ms) {
    return new Promise((resolve) => {
      const id = setTimeout(resolve, ms);
      wake = () => { clearTimeout(id); resolve(); };
    });
  }
  // Retry at once when the network or the tab comes back, instead of waiting out the backoff.
  window.addEventListener("online", () => wake && wake());
  window.addEventListener("offline", () => setStatus(t("offline")));
  document.addEventListener("visibilitychange", () => { if (!document.hidden && wake) wake(); });

  async function pollLoop() {
    let backoff = 1000;
    // timeout=0 (answer at once) on the first call and after an error, so an empty
    // transcript or a recovered connection is noticed now, not after a 25 s long poll.
    let timeout = 0;
    setStatus(t("connecting"));
    for (;;) {
      try {
        const data = await request(`/events?after=${lastSeq}&timeout=${timeout}`, {}, (timeout + 15) * 1000);
        timeout = 25;
        backoff = 1000;
        setStatus(null);
        if (data && data.reset) resetTranscript();
        if (data && data.settings) applySettings(data.settings);
        handleBatch(data && Array.isArray(data.events) ? data.events : []);
        if (data && Number.isFinite(data.last) && data.last > lastSeq) lastSeq = data.last;
      } catch (e) {
        timeout = 0;
        setStatus(t("offline"));
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 15000);
      }
    }
  }

  // The server's transcript started again (it knows less than this page): show it afresh.
  function resetTranscript() {
    inner.querySelectorAll(".msg, .notice").forEach((n) => n.remove());
    bubbles.clear();
    lastSeq = 0;
  }

  function handleBatch(events) {
    for (const ev of events) {
      if (!ev || typeof ev !== "object") continue;
      // seq 0: not a transcript event but what a page opening gets first (the menu).
      if (Number.isFinite(ev.seq) && ev.seq > 0) {
        if (ev.seq <= lastSeq) continue; // already seen
        lastSeq = ev.seq;
      }
      try {
        handleEvent(ev);
      } catch (err) {
        console.error("chat: bad event", ev, err);
      }
    }
    loaded = true;
    updateEmpty();
    if (announcements.length) $("live").textContent = announcements.join("\n");
    announcements = [];
    if (stick) scrollBottom();
  }

  function handleEvent(ev) {
    switch (ev.type) {
      case "message": case "photo": case "document": return renderMessage(ev);
      case "edit": return editMessage(ev);
      case "delete": return deleteMessage(ev);
      case "redact": return redactMessage(ev);
      case "commands": return setCommands(ev.commands);
      case "callback_answer":
        // Answers carry no message_id, so every waiting keyboard is released.
        inner.querySelectorAll(".keyboard.busy").forEach(releaseKeyboard);
        // Answers replayed with the history are stale: do not pop them up again.
        if (loaded && ev.text) (ev.show_alert ? showAlert : showToast)(String(ev.text));
        return undefined;
      default:
        return undefined; // unknown event types are ignored
    }
  }

  /* ---------- Status, toast, dialog, scrolling ---------- */

  function setStatus(text) {
    statusEl.textContent = text || "";
    statusEl.hidden = !text;
  }

  function showToast(text) {
    toast.textContent = text;
    toast.classList.add("show");
    clearTimeout(toast._timer);
    toast._timer = setTimeout(() => { toast.classList.remove("show"); toast.textContent = ""; }, 3000);
  }

  function showAlert(text) {
    if (typeof dialog.showModal !== "function") return showToast(text);
    $("alert-text").textContent = text;
    if (!dialog.open) dialog.showModal();
  }

  // The first screen: big Start / I need help buttons until a conversation exists.
  function updateEmpty() {
    const empty = !loaded || !!inner.querySelector(".msg");
    $("welcome").hidden = empty;
  }

  function scrollBottom() {
    log.scrollTop = log.scrollHeight;
  }

  /* ---------- Composer and wiring ---------- */

  function autosize() {
    sendBtn.disabled = !input.value.trim();
    // Empty: use the CSS height (a long placeholder must not make the box grow).
    if (!input.value) {
      input.style.height = input.style.overflowY = "";
      return;
    }
    input.style.height = "auto";
    const border = input.offsetHeight - input.clientHeight;
    input.style.height = input.scrollHeight + border + "px";
    // Beyond the CSS max-height (5 lines) the textarea scrolls instead of growing.
    input.style.overflowY = input.scrollHeight + border > input.offsetHeight ? "auto" : "hidden";
  }

  function submit() {
    if (!input.value.trim()) return;
    const text = input.value;
    input.value = "";
    autosize();
    sendText(text);
  }

  $("composer-label").textContent = input.placeholder = t("placeholder");
  sendBtn.textContent = t("send");
  $("menu-label").textContent = t("menu");
  $("alert-ok").textContent = t("ok", "✓"); // "ok" is optional; ✓ is language-neutral
  $("welcome-text").textContent = t("welcome");
  $("welcome-start").textContent = t("start_button");
  $("welcome-need").textContent = t("need_button");
  $("welcome-start").addEventListener("click", () => sendText("/start"));
  $("welcome-need").addEventListener("click", () => sendText("/need"));
  $("photo-label").textContent = t("photo");
  $("photo-btn").setAttribute("aria-label", t("photo_label"));
  $("photo-btn").addEventListener("click", () => photoInput.click());
  photoInput.addEventListener("change", () => {
    const file = photoInput.files && photoInput.files[0];
    photoInput.value = "";
    if (file) sendPhoto(file);
  });
  largeBtn.addEventListener("click", () => setLargeText(!document.documentElement.classList.contains("large"), true));
  setLargeText(false, false);

  $("composer").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  input.addEventListener("input", autosize);
  input.addEventListener("keydown", (e) => {
    // While an IME (e.g. pinyin) is composing, Enter picks a candidate: never send then.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });

  menuBtn.addEventListener("click", () => openMenu(menu.hidden));
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !menu.hidden) openMenu(false, true); });
  document.addEventListener("click", (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !menuBtn.contains(e.target)) openMenu(false);
  });
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); }); // backdrop tap

  // Spoilers: tap, Enter or Space reveals.
  log.addEventListener("click", (e) => e.target.closest(".spoiler")?.classList.add("revealed"));
  log.addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === " ") && e.target.classList.contains("spoiler")) {
      e.preventDefault();
      e.target.classList.add("revealed");
    }
  });

  // Follow new content only while the reader is at the bottom; the observer also
  // catches late growth (images loading, on-screen keyboard, reply keyboard).
  log.addEventListener("scroll", () => {
    stick = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
  }, { passive: true });
  if ("ResizeObserver" in window) {
    const ro = new ResizeObserver(() => { if (stick) scrollBottom(); });
    ro.observe(inner);
    ro.observe(log);
  }

  autosize();
  pollLoop();

  // A printed QR code or shared link (/?start=<payload>) acts like Telegram's /start <payload>,
  // once: the address is cleaned so a reload does not repeat it.
  const startPayload = new URLSearchParams(location.search).get("start");
  if (startPayload && /^[A-Za-z0-9_-]{1,64}$/.test(startPayload)) {
    history.replaceState(null, "", location.pathname);
    sendText("/start " + startPayload);
  }
})();
