/* The home page's try-it uploader: posts the file to POST /v1/images (anonymous, like curl
   would) and shows the returned Image object, its links and a preview. Without JavaScript the
   form posts to /try instead. */
(function () {
  "use strict";
  var form = document.getElementById("tryit-form");
  if (!form || !window.FormData || !window.XMLHttpRequest || !window.imgproEl) { return; }
  var el = window.imgproEl;
  var input = document.getElementById("tryit-file");
  var button = document.getElementById("tryit-submit");
  var progress = document.getElementById("tryit-progress");
  var status = document.getElementById("tryit-status");
  var result = document.getElementById("tryit-result");
  var busy = false;

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "muted";
  }

  function sayParts(parts) {
    status.replaceChildren.apply(status, parts);
    status.className = "error";
  }

  /* The anonymous size caps come from the server's settings (data-max-bytes, data-svg-max-bytes):
     a file over them is refused here, before minutes of uploading end in a 413. */
  function tooLarge(file) {
    var isSvg = /\.svg$/i.test(file.name) || file.type === "image/svg+xml";
    var limit = Number(isSvg ? form.dataset.svgMaxBytes : form.dataset.maxBytes);
    if (!limit || file.size <= limit) { return false; }
    sayParts([
      file.name + " is " + window.imgproBytes(file.size) + "; anonymous uploads are limited to " +
        window.imgproBytes(limit) + ". ",
      el("a", {href: form.dataset.signupUrl, "data-action": "signup", className: "guidance",
               text: form.dataset.signupLabel})
    ]);
    return true;
  }

  function copyField(id, label, value) {
    return el("div", {className: "copy-field"}, [
      el("label", {"for": id, text: label}),
      el("div", {className: "copy-row"}, [
        el("input", {type: "text", id: id, value: value, readonly: true, spellcheck: "false"}),
        el("button", {type: "button", className: "secondary", "data-copy": "#" + id, text: "Copy"})
      ])
    ]);
  }

  function show(image) {
    var medium = image.sizes && image.sizes.medium;
    var img = el("img", {src: medium ? medium.url : image.url, alt: "Your upload: " + image.filename,
                         width: medium ? medium.width : null, height: medium ? medium.height : null});
    var facts = image.filename + " · " + image.width + "×" + image.height + " · " +
      String(image.format).toUpperCase() + " · " + window.imgproBytes(image.bytes);
    var sizes = null;
    if (image.sizes && Object.keys(image.sizes).length) {
      sizes = el("p", {className: "sizes"}, ["Sizes: "]);
      Object.keys(image.sizes).forEach(function (name, i) {
        var s = image.sizes[name];
        if (i) { sizes.appendChild(document.createTextNode(" · ")); }
        sizes.appendChild(el("a", {href: s.url, text: name + " (" + s.width + "×" + s.height + ")"}));
      });
    }
    var expiry = null;
    if (image.expires_at) {
      expiry = el("p", {className: "notice"}, [
        "This image expires on ",
        el("strong", {}, [el("time", {datetime: image.expires_at, text: image.expires_at.replace("T", " ").replace("Z", " UTC")})]),
        " (30 days after upload). ",
        el("a", {href: "/signup", text: "Sign up free"}),
        " to keep images for good, get an API key and a dashboard."
      ]);
    }
    result.replaceChildren(
      el("h3", {text: "Uploaded — here is what the API returned", tabindex: "-1", id: "tryit-done"}),
      el("div", {className: "result"}, [
        el("figure", {className: "preview"}, [img, el("figcaption", {text: facts})]),
        el("div", {className: "links"}, [
          copyField("result-url", "Direct link (embed it, add ?w=400 to resize)", image.url),
          copyField("result-page", "Viewer page", image.page_url),
          sizes, expiry
        ])
      ]),
      el("details", {className: "json", open: true}, [
        el("summary", {text: "The Image object"}),
        el("pre", {}, [el("code", {text: JSON.stringify(image, null, 2)})])
      ])
    );
    if (window.imgproEnhanceCopy) { window.imgproEnhanceCopy(result); }
    document.getElementById("tryit-done").focus();
  }

  function upload(file) {
    if (!file || busy) { return; }
    if (tooLarge(file)) { return; }
    busy = true;
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    say("Uploading " + file.name + "…", false);
    var data = new FormData();
    data.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.api);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { progress.value = Math.round(e.loaded / e.total * 100); }
    });
    xhr.addEventListener("loadend", function () {
      busy = false;
      button.disabled = false;
      progress.hidden = true;
      if (xhr.status === 201) {
        say("Uploaded " + file.name + ".", false);
        show(JSON.parse(xhr.responseText));
      } else {
        sayParts(window.imgproErrorParts(xhr));
      }
    });
    xhr.send(data);
  }

  window.imgproDropzone(form.querySelector("[data-dropzone]"), function (files) { upload(files[0]); });
  input.addEventListener("change", function () { upload(input.files[0]); });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (input.files.length) { upload(input.files[0]); } else { say("Choose an image first.", true); }
  });
})();
