/* Destructive links (<a data-confirm-post="question" data-csrf="…" href="/…/delete">) lead to a
   confirmation page without JavaScript; with it, a dialog asks and the POST happens here. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-confirm-post]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) {
      return;
    }
    event.preventDefault();
    if (!window.confirm(link.dataset.confirmPost)) { return; }
    var form = document.createElement("form");
    form.method = "post";
    form.action = link.href;
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = link.dataset.csrf || "";
    form.appendChild(token);
    document.body.appendChild(form);
    form.submit();
  });
})();
