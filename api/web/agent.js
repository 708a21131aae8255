// Agent console. Session: HttpOnly cookie set by /agent/api/login; every POST carries the CSRF
// token in X-CSRF-Token. Live updates come over /agent/api/ws (reconnect with backoff).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var me = null, current = null, currentHandoff = null, socket = null, delay = 1000, seen = {};
  var lastTyping = 0, typingTimer = null, staffList = [], queues = {};
  var PRIORITY = { hazard: "险情", urgent: "紧急", normal: "普通" };
  var STATE = { queued: "排队中", agent: "人工服务中", returned: "已交回机器人", closed: "已结束", bot: "机器人", };
  var REASON = { customer_request: "客户要求", fallback: "机器人无法理解", verification_failed: "身份验证失败",
    angry_complaint: "客户情绪激动", hazard: "险情", backend_unavailable: "系统故障", agent_request: "客服发起" };

  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (me && method !== "GET") headers["X-CSRF-Token"] = me.csrf_token;
    return fetch("/agent/api" + path, { method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var err = new Error(typeof data.detail === "string" ? data.detail : "请求失败（" + r.status + "）"); err.status = r.status; throw err; }
        return data;
      });
    });
  }

  function minutes(seconds) { return seconds < 60 ? seconds + "秒" : Math.floor(seconds / 60) + "分" + (seconds % 60) + "秒"; }

  // ------------------------------------------------------------ login
  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    $("login-error").textContent = "";
    api("POST", "/login", { username: $("username").value, password: $("password").value })
      .then(start).catch(function (err) { $("login-error").textContent = err.message; });
  });
  $("logout").addEventListener("click", function () {
    api("POST", "/logout", {}).finally(function () { location.reload(); });
  });

  function start(identity) {
    me = identity;
    $("login-view").hidden = true; $("console-view").hidden = false;
    $("who").textContent = me.display_name + "（" + ({ agent: "客服", supervisor: "班长", admin: "管理员" }[me.role] || me.role) + "）";
    $("supervisor").hidden = me.role === "agent";
    api("GET", "/canned").then(function (data) {
      data.responses.forEach(function (c) {
        var o = document.createElement("option"); o.value = c.text; o.textContent = c.title; $("canned").appendChild(o);
      });
    });
    api("GET", "/staff").then(function (data) { staffList = data.staff; queues = data.queues; fillTransferTargets(); });
    refreshQueue();
    setInterval(refreshQueue, 15000); // waiting times keep growing even when nothing happens
    connect();
  }

  function fillTransferTargets() {
    var sel = $("transfer-target"); sel.innerHTML = "";
    Object.keys(queues).forEach(function (q) { var o = document.createElement("option"); o.value = "queue:" + q; o.textContent = "队列：" + queues[q]; sel.appendChild(o); });
    staffList.forEach(function (s) { if (s.username === me.username) return; var o = document.createElement("option"); o.value = "agent:" + s.username; o.textContent = "客服：" + s.display_name; sel.appendChild(o); });
  }

  // ------------------------------------------------------------ queue
  function refreshQueue() {
    api("GET", "/queue").then(function (data) {
      var ul = $("queue"); ul.innerHTML = "";
      if (!data.items.length) { ul.innerHTML = "<li class='meta'>暂无等待的客户</li>"; }
      data.items.forEach(function (h) {
        var li = document.createElement("li");
        li.className = h.priority + (current === h.conversation_id ? " selected" : "");
        li.dataset.conversation = h.conversation_id;
        li.innerHTML = "<div><b></b> <span class='badge'></span></div><div class='meta'></div><div class='meta summary-line'></div>";
        li.querySelector("b").textContent = (h.channel === "wechat" ? "微信 " : h.channel === "web" ? "网页 " : "热线 ") + h.conversation_id.slice(0, 12);
        li.querySelector(".badge").textContent = PRIORITY[h.priority] + " · " + STATE[h.state];
        li.querySelector(".meta").textContent = h.queue_label + " · 已等待 " + minutes(h.waiting_seconds) + (h.assigned_to ? " · " + h.assigned_to : "") + " · " + (REASON[h.reason] || h.reason);
        li.querySelector(".summary-line").textContent = h.summary_line || "";
        li.addEventListener("click", function () { openConversation(h.conversation_id); });
        ul.appendChild(li);
      });
    }).catch(handleAuthError);
    if (me && me.role !== "agent") refreshSupervisor();
  }

  function refreshSupervisor() {
    api("GET", "/supervisor").then(function (data) {
      var t = $("queue-stats"); t.innerHTML = "<tr><th>队列</th><th>排队</th><th>服务中</th><th>最长等待</th></tr>";
      Object.keys(data.queues).forEach(function (k) {
        var q = data.queues[k], tr = document.createElement("tr");
        [q.label, q.queued, q.with_agent, minutes(q.longest_wait_seconds)].forEach(function (v) { var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
        t.appendChild(tr);
      });
      var ul = $("deadlines"); ul.innerHTML = "";
      data.work_orders.slice(0, 20).forEach(function (o) {
        var li = document.createElement("li"); li.className = o.overdue ? "overdue" : "";
        li.textContent = o.ticket_no + " " + o.status_label + " · " + (o.deadline === "contact" ? "联系时限 " : "办结时限 ") + new Date(o.due_at).toLocaleString("zh-CN") + (o.overdue ? "（已超时）" : "") + " · " + o.summary;
        ul.appendChild(li);
      });
    }).catch(function () {});
  }

  // ------------------------------------------------------------ conversation
  var loadSerial = 0;
  function openConversation(id) {
    current = id;
    var serial = ++loadSerial; // several reloads can overlap (claim + status event): keep the last
    $("empty").hidden = true; $("conversation").hidden = false; $("order-form").hidden = false; $("reply-error").textContent = "";
    Array.prototype.forEach.call(document.querySelectorAll("#queue li"), function (li) { li.classList.toggle("selected", li.dataset.conversation === id); });
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "watch", conversation_id: id }));
    api("GET", "/conversations/" + id).then(function (data) {
      if (serial !== loadSerial) return;
      seen = {};
      currentHandoff = data.handoff;
      $("conv-title").textContent = (data.channel === "wechat" ? "微信客户 " : data.channel === "web" ? "网页客户 " : "热线客户 ") + id;
      renderState(data.status);
      var s = data.handoff && data.handoff.summary;
      var lines = [];
      if (data.handoff) lines.push("转人工原因：" + (REASON[data.handoff.reason] || data.handoff.reason) + "　优先级：" + PRIORITY[data.handoff.priority]);
      if (s && s.intents && s.intents.length) lines.push("机器人识别的意图：" + s.intents.join("、"));
      if (s && s.slots && Object.keys(s.slots).length) lines.push("已收集信息：" + Object.keys(s.slots).map(function (k) { return k + "=" + s.slots[k]; }).join("，"));
      if (s && s.account_masked) lines.push("已验证户号：" + s.account_masked);
      if (data.handoff && data.handoff.callback_phone) lines.push("回电号码：" + data.handoff.callback_phone);
      if (!data.reply_window.allowed) lines.push("⚠ " + data.reply_window.reason);
      $("conv-summary").textContent = lines.join("\n");
      var tr = $("transcript"); tr.innerHTML = "";
      var all = data.messages.map(function (m) { return m; }).concat(data.notes.map(function (n) { n.type = "note"; return n; }));
      all.sort(function (a, b) { return a.at < b.at ? -1 : a.at > b.at ? 1 : 0; });
      all.forEach(addLine);
      loadCustomer(); loadOrders();
    }).catch(function (err) { $("reply-error").textContent = err.message; });
  }

  function renderState(status) {
    $("conv-state").textContent = STATE[status] || status;
    var mine = currentHandoff && currentHandoff.assigned_to === me.username;
    var open = currentHandoff && (currentHandoff.state === "queued" || currentHandoff.state === "agent");
    $("claim").disabled = !(currentHandoff && currentHandoff.state === "queued");
    $("hand-back").disabled = !open; $("close").disabled = !open; $("transfer").disabled = !open;
    $("send-reply").disabled = false;
    $("reply-text").placeholder = mine && currentHandoff.state === "agent" ? "输入回复内容" : "接入后才能回复客户（备注随时可写）";
  }

  function addLine(m) {
    var key = (m.type === "note" ? "n" : "m") + m.id;
    if (m.id && seen[key]) return;
    seen[key] = true;
    var div = document.createElement("div");
    var kind = m.type === "note" ? "note" : m.sender;
    div.className = "line " + kind; div.dataset.kind = kind;
    var who = document.createElement("span"); who.className = "who";
    who.textContent = kind === "note" ? "内部备注 · " + m.name : kind === "customer" ? "客户" : kind === "agent" ? (m.name || "客服") : kind === "bot" ? "智能客服" : "系统";
    div.appendChild(who);
    div.appendChild(document.createTextNode(m.text));
    $("transcript").appendChild(div);
    $("transcript").scrollTop = $("transcript").scrollHeight;
  }

  function action(path, body) {
    $("reply-error").textContent = "";
    return api("POST", path, body || {}).then(function (r) { refreshQueue(); if (current) openConversation(current); return r; })
      .catch(function (err) { $("reply-error").textContent = err.message; });
  }

  $("claim").addEventListener("click", function () { action("/handoffs/" + currentHandoff.handoff_id + "/claim"); });
  $("hand-back").addEventListener("click", function () {
    if (confirm("确定把会话交回智能客服吗？")) action("/handoffs/" + currentHandoff.handoff_id + "/hand-back");
  });
  $("close").addEventListener("click", function () {
    var summary = prompt("请填写本次服务小结（必填）：");
    if (summary && summary.trim()) action("/handoffs/" + currentHandoff.handoff_id + "/close", { summary: summary });
  });
  $("transfer").addEventListener("click", function () {
    var target = $("transfer-target").value.split(":");
    var body = target[0] === "queue" ? { to_queue: target[1] } : { to_agent: target[1] };
    body.note = prompt("转接说明（可选）：") || null;
    action("/handoffs/" + currentHandoff.handoff_id + "/transfer", body);
  });
  $("canned").addEventListener("change", function () { if (this.value) { $("reply-text").value = this.value; this.value = ""; $("reply-text").focus(); } });
  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("reply-text").value.trim(); if (!text) return;
    var note = $("as-note").checked;
    $("reply-error").textContent = "";
    api("POST", "/conversations/" + current + (note ? "/notes" : "/messages"), { text: text })
      .then(function (ev) { $("reply-text").value = ""; if (note) ev.type = "note"; addLine(ev); })
      .catch(function (err) { $("reply-error").textContent = err.message; });
  });
  $("reply-text").addEventListener("input", function () {
    var now = Date.now();
    if (socket && socket.readyState === 1 && now - lastTyping > 2000) { lastTyping = now; socket.send(JSON.stringify({ type: "typing" })); }
  });

  // ------------------------------------------------------------ customer panel and work orders
  function showCustomer(data) {
    var lines = [];
    if (data.account) {
      var a = data.account;
      lines.push("户号：" + a.account_no, "户主：" + a.holder, "电话：" + a.phone, "地址：" + a.address,
        "缴费方式：" + (a.payment_mode === "prepaid" ? "预付费" : "后付费"), "余额：" + a.balance_yuan + " 元", "欠费：" + a.arrears_yuan + " 元",
        "供电状态：" + (a.supply_status === "normal" ? "正常" : "欠费停电"));
      if (data.unmasked) lines.push("（已显示完整信息，本次查看已记录审计）");
    } else lines.push("客户尚未完成身份验证。");
    if (data.callback_phone) lines.push("回电号码：" + data.callback_phone);
    $("customer").textContent = lines.join("\n");
    $("unmask-form").hidden = !data.account || data.unmasked;
  }
  function loadCustomer() { api("GET", "/conversations/" + current + "/customer").then(showCustomer).catch(function () {}); }
  $("unmask-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var reason = $("unmask-reason").value.trim();
    if (reason.length < 2) { alert("请填写查看原因"); return; }
    api("POST", "/conversations/" + current + "/customer/unmask", { reason: reason }).then(function (d) { $("unmask-reason").value = ""; showCustomer(d); })
      .catch(function (err) { alert(err.message); });
  });

  var ACTION_NAMES = {};
  function loadOrders() {
    api("GET", "/conversations/" + current + "/workorders").then(function (data) {
      ACTION_NAMES = data.actions || {};
      var ul = $("orders"); ul.innerHTML = "";
      data.orders.forEach(function (o) {
        var li = document.createElement("li");
        li.textContent = o.ticket_no + " · " + o.status_label + (o.due_at ? " · 时限 " + new Date(o.due_at).toLocaleString("zh-CN") : "") + " · " + o.summary.slice(0, 40);
        var div = document.createElement("div");
        o.allowed_actions.forEach(function (act) {
          var b = document.createElement("button"); b.type = "button"; b.textContent = ACTION_NAMES[act] || act;
          b.addEventListener("click", function () {
            api("POST", "/conversations/" + current + "/workorders/" + o.ticket_no + "/transition", { action: act, note: null })
              .then(loadOrders).catch(function (err) { alert(err.message); });
          });
          div.appendChild(b);
        });
        li.appendChild(div); ul.appendChild(li);
      });
    }).catch(function () {});
  }
  $("order-form").addEventListener("submit", function (e) {
    e.preventDefault();
    api("POST", "/conversations/" + current + "/workorders", { kind: $("order-kind").value, category: $("order-category").value || "其他", summary: $("order-summary").value })
      .then(function () { $("order-summary").value = ""; loadOrders(); }).catch(function (err) { alert(err.message); });
  });

  // ------------------------------------------------------------ live
  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/agent/api/ws");
    socket.onopen = function () {
      delay = 1000; $("live").textContent = "实时连接正常";
      if (current) socket.send(JSON.stringify({ type: "watch", conversation_id: current }));
    };
    socket.onmessage = function (e) {
      var ev = JSON.parse(e.data);
      if (ev.type === "queue_changed") refreshQueue();
      else if (ev.type === "message" && ev.conversation_id === current) { addLine(ev); $("customer-typing").hidden = true; }
      else if (ev.type === "note") addLine(ev);
      else if (ev.type === "typing" && ev.who === "customer") {
        $("customer-typing").hidden = false; clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { $("customer-typing").hidden = true; }, 6000);
      } else if (ev.type === "status" && current) openConversation(current);
    };
    socket.onclose = function () {
      $("live").textContent = "连接断开，" + Math.round(delay / 1000) + "秒后重连…";
      setTimeout(connect, delay); delay = Math.min(delay * 2, 30000);
    };
  }

  function handleAuthError(err) { if (err.status === 401) location.reload(); }

  api("GET", "/me").then(start).catch(function () { /* not logged in: the form is showing */ });
})();
