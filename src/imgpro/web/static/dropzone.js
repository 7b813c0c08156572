/* Drag and drop onto [data-dropzone]: calls onFiles(FileList). The file input inside the zone
   keeps working with the keyboard and without JavaScript. */
(function () {
  "use strict";
  window.imgproDropzone = function (zone, onFiles) {
    if (!zone) { return; }
    var hint = zone.querySelector(".drop-hint");
    if (hint) { hint.hidden = false; }
    var depth = 0;
    zone.addEventListener("dragenter", function (e) {
      e.preventDefault();
      depth += 1;
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragover", function (e) {
      e.preventDefault();
      if (e.dataTransfer) { e.dataTransfer.dropEffect = "copy"; }
    });
    zone.addEventListener("dragleave", function () {
      depth = Math.max(0, depth - 1);
      if (depth === 0) { zone.classList.remove("dragging"); }
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      depth = 0;
      zone.classList.remove("dragging");
      if (e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files.length) {
        onFiles(e.dataTransfer.files);
      }
    });
  };

  /* Build an element: el("a", {href: "…", text: "…"}, [children]). Text only, never HTML. */
  window.imgproEl = function (tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) { return; }
      if (key === "text") { node.textContent = value; }
      else if (key === "className") { node.className = value; }
      else { node.setAttribute(key, value === true ? "" : String(value)); }
    });
    (children || []).forEach(function (child) {
      if (child) { node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); }
    });
    return node;
  };

  window.imgproBytes = function (n) {
    if (n === null || n === undefined) { return ""; }
    var units = ["B", "KB", "MB", "GB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)) + " " + units[i];
  };

  /* The error message of an API answer (the JSON envelope), or a fallback. */
  window.imgproErrorMessage = function (xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) { return body.error.message; }
    } catch (ignored) { /* not JSON */ }
    return xhr.status ? "Upload failed (HTTP " + xhr.status + ")." : "Network error: the upload did not finish.";
  };

  /* "in 12 minutes": a Retry-After / retry_after in seconds, in words. */
  window.imgproWait = function (seconds) {
    var s = Math.max(1, Math.ceil(Number(seconds) || 0));
    if (s < 90) { return s + (s === 1 ? " second" : " seconds"); }
    if (s < 5400) { return Math.ceil(s / 60) + " minutes"; }
    return Math.ceil(s / 3600) + " hours";
  };

  /* What the API's error envelope tells a person to do next (SPEC §6 action): the signed
     upgrade link of a quota error, the sign-up link of a too-large anonymous upload, the wait
     of a rate limit. [] when there is nothing to add. Links are only http(s) or our own paths. */
  window.imgproGuidance = function (action, retryAfterHeader) {
    var el = window.imgproEl;
    if (!action || typeof action !== "object") {
      return retryAfterHeader ? [el("span", {className: "guidance", text: "Try again in " + window.imgproWait(retryAfterHeader) + "."})] : [];
    }
    if (action.type === "wait") {
      var wait = action.retry_after || retryAfterHeader;
      return [el("span", {className: "guidance", "data-retry-after": String(wait),
                          text: "Try again in " + window.imgproWait(wait) + "."})];
    }
    var url = String(action.url || "");
    if ((action.type === "upgrade" || action.type === "signup") &&
        (/^https?:\/\//i.test(url) || (url.charAt(0) === "/" && url.charAt(1) !== "/"))) {
      var label = action.label || (action.type === "upgrade" ? "Upgrade your plan" : "Sign up free");
      return [el("a", {className: "guidance", href: url, "data-action": action.type, text: label})];
    }
    return [];
  };

  /* The message and the guidance of a failed XHR, as children for imgproEl / replaceChildren. */
  window.imgproErrorParts = function (xhr) {
    var action = null;
    try {
      var body = JSON.parse(xhr.responseText);
      action = body && body.error ? body.error.action : null;
    } catch (ignored) { /* not JSON */ }
    var guidance = window.imgproGuidance(action, xhr.getResponseHeader ? xhr.getResponseHeader("Retry-After") : null);
    var parts = [window.imgproErrorMessage(xhr)];
    guidance.forEach(function (node) { parts.push(" ", node); });
    return parts;
  };
})();
