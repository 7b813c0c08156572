/* Dashboard uploads: one XMLHttpRequest per file to /dashboard/upload (session cookie +
   X-CSRF-Token), each with its own progress bar. Without JavaScript the form posts all the
   files at once.
   Each file carries an Idempotency-Key derived from the key the page was rendered with and the
   file itself: submitting the same file again from this page (a double click, a second drop)
   replays the first upload instead of storing a second copy. */
(function () {
  "use strict";
  var form = document.getElementById("dash-upload");
  if (!form || !window.FormData || !window.XMLHttpRequest || !window.imgproEl) { return; }
  var el = window.imgproEl;
  var input = document.getElementById("dash-files");
  var list = document.getElementById("upload-list");
  var CONCURRENCY = 2;
  var formKey = form.dataset.uploadKey || "";
  var fileKeys = {};
  var keyCount = 0;

  function keyFor(file) {
    var identity = [file.name, file.size, file.lastModified, file.type].join("\u0000");
    if (!fileKeys[identity]) { keyCount += 1; fileKeys[identity] = formKey + "-" + keyCount; }
    return fileKeys[identity];
  }

  function uploadOne(file, done) {
    var bar = el("progress", {max: "100", value: "0", "aria-label": "Uploading " + file.name});
    var state = el("span", {className: "state muted", text: "waiting"});
    var item = el("li", {}, [el("span", {className: "name", text: file.name}), bar, state]);
    list.appendChild(item);
    return function start() {
      state.textContent = "uploading";
      var data = new FormData();
      data.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
      xhr.setRequestHeader("Accept", "application/json");
      if (formKey) { xhr.setRequestHeader("Idempotency-Key", keyFor(file)); }
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.value = Math.round(e.loaded / e.total * 100); }
      });
      xhr.addEventListener("loadend", function () {
        if (xhr.status === 201) {
          bar.value = 100;
          var image = JSON.parse(xhr.responseText).data[0];
          state.className = "state ok";
          state.replaceChildren("done · ", el("a", {href: image.page_url, text: "view"}));
          item.classList.add("ok");
          done(true);
        } else {
          state.className = "state failed";
          state.replaceChildren.apply(state, window.imgproErrorParts(xhr));
          item.classList.add("failed");
          done(false);
        }
      });
      xhr.send(data);
    };
  }

  function uploadAll(files) {
    if (!files || !files.length) { return; }
    list.replaceChildren();
    var ok = 0, failed = 0, finished = 0, next = 0;
    var starters = [];
    function done(success) {
      if (success) { ok += 1; } else { failed += 1; }
      finished += 1;
      if (next < starters.length) { starters[next++](); }
      if (finished === starters.length) {
        if (!failed) {
          window.location.assign("/dashboard?notice=uploaded&n=" + ok);
        } else {
          list.appendChild(el("li", {className: "summary"}, [
            ok + " uploaded, " + failed + " failed. ",
            el("a", {href: "/dashboard", text: "Show my images"})
          ]));
        }
      }
    }
    Array.prototype.forEach.call(files, function (file) { starters.push(uploadOne(file, done)); });
    while (next < starters.length && next < CONCURRENCY) { starters[next++](); }
  }

  window.imgproDropzone(form.querySelector("[data-dropzone]"), uploadAll);
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    uploadAll(input.files);
  });
})();
