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
})();
