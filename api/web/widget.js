// Embeddable web chat: the host page adds one script tag whose source is /widget.js on the kefu host.
// Adds a floating "在线客服" button that opens the chat page in an iframe served by kefu itself,
// so the session cookie and the WebSocket stay on kefu's origin (the host page never sees them).
(function () {
  "use strict";
  var me = document.currentScript;
  var origin = me ? new URL(me.src).origin : location.origin;
  var open = false, frame = null;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "在线客服";
  button.setAttribute("aria-label", "打开在线客服");
  button.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483646;background:#00706b;color:#fff;border:0;border-radius:24px;padding:12px 18px;font-size:15px;box-shadow:0 2px 8px rgba(0,0,0,.25);cursor:pointer";
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = origin + "/?embed=1";
      frame.title = "在线客服";
      frame.style.cssText = "position:fixed;right:16px;bottom:72px;z-index:2147483647;width:min(380px,calc(100vw - 32px));height:min(600px,calc(100vh - 96px));border:1px solid #ccd;border-radius:12px;background:#fff;box-shadow:0 4px 16px rgba(0,0,0,.25)";
      document.body.appendChild(frame);
    }
    open = !open;
    frame.style.display = open ? "block" : "none";
    button.textContent = open ? "收起客服" : "在线客服";
  });
  document.body.appendChild(button);
})();
