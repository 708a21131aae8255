// Customer web chat: one WebSocket to /ws/chat. The server picked our session (signed cookie);
// we never send or know a conversation id. Reconnects with exponential backoff.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var input = document.getElementById("input");
  var form = document.getElementById("composer");
  var stateEl = document.getElementById("state");
  var typingEl = document.getElementById("typing");
  var quick = document.getElementById("quick");
  var socket = null, delay = 1000, seen = {}, typingTimer = null, lastTypingSent = 0, outbox = [];
  var NAMES = { bot: "智能客服", system: "系统消息", customer: "我" };

  function setState(text) { stateEl.textContent = text; }

  function showTyping(text) {
    typingEl.textContent = text; typingEl.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingEl.hidden = true; }, 8000);
  }

  function renderQuickReplies(buttons) {
    quick.innerHTML = "";
    (buttons || []).forEach(function (b) {
      var btn = document.createElement("button");
      btn.type = "button"; btn.textContent = b.title;
      btn.addEventListener("click", function () { send(b.title); });
      quick.appendChild(btn);
    });
  }

  function addMessage(m) {
    if (m.id && seen[m.id]) return;
    if (m.id) seen[m.id] = true;
    var div = document.createElement("div");
    div.className = "msg " + (m.sender || "bot");
    div.dataset.sender = m.sender;
    if (m.sender !== "customer" && m.sender !== "system") {
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = m.sender === "agent" ? (m.name || "人工客服") : NAMES[m.sender] || "";
      div.appendChild(who);
    }
    div.appendChild(document.createTextNode(m.text));
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    if (m.sender !== "customer") { typingEl.hidden = true; renderQuickReplies(m.buttons); }
  }

  function showStatus(ev) {
    if (ev.status === "queued") setState(ev.position ? "排队中：第" + ev.position + "位，约" + ev.wait_minutes + "分钟" : "排队中");
    else if (ev.status === "agent") setState(ev.agent ? "人工客服 " + ev.agent + " 为您服务" : "人工客服为您服务");
    else setState("在线");
    if (ev.text) addMessage({ sender: "system", text: ev.text });
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/ws/chat");
    socket.onopen = function () {
      delay = 1000; setState("在线");
      while (outbox.length) socket.send(outbox.shift());
    };
    socket.onmessage = function (e) {
      var ev = JSON.parse(e.data);
      if (ev.type === "history") {
        log.innerHTML = ""; seen = {};
        ev.messages.forEach(addMessage);
        showStatus(ev);
      } else if (ev.type === "message") addMessage(ev);
      else if (ev.type === "typing") showTyping(ev.who === "agent" ? (ev.name || "人工客服") + " 正在输入…" : "智能客服正在输入…");
      else if (ev.type === "status") showStatus(ev);
      else if (ev.type === "error") addMessage({ sender: "system", text: ev.text });
    };
    socket.onclose = function () {
      setState("连接已断开，" + Math.round(delay / 1000) + "秒后重连…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  function send(text) {
    text = (text || "").trim();
    if (!text) return;
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    var frame = JSON.stringify({ type: "message", text: text, client_id: id });
    quick.innerHTML = "";
    if (socket && socket.readyState === 1) socket.send(frame); else outbox.push(frame);
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); send(input.value); input.value = ""; input.focus(); });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (socket && socket.readyState === 1 && now - lastTypingSent > 2000) {
      lastTypingSent = now; socket.send(JSON.stringify({ type: "typing" }));
    }
  });
  connect();
})();
