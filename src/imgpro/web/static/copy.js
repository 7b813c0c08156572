/* Copy buttons: <button data-copy="#input-id">. Hidden without JavaScript (the field is
   still selectable by hand). */
(function () {
  "use strict";
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }
  function enhance(button) {
    if (button.dataset.copyReady) { return; }
    button.dataset.copyReady = "1";
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      var target = document.querySelector(button.dataset.copy);
      if (!target) { return; }
      var text = target.value !== undefined ? target.value : target.textContent;
      copyText(text).then(function () {
        button.textContent = "Copied!";
      }, function () {
        target.select && target.select();
        button.textContent = "Press Ctrl+C";
      }).then(function () {
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  }
  window.imgproEnhanceCopy = function (root) {
    (root || document).querySelectorAll("button[data-copy]").forEach(enhance);
  };
  window.imgproEnhanceCopy(document);
})();
