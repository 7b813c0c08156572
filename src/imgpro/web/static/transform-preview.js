// The transforms guide's live preview: builds the CDN URL from the form and shows the result.
// Only URL building happens here; the server renders (an invalid value is ignored, never an error).
(function () {
  var form = document.getElementById("transform-form");
  if (!form) return;
  var base = form.getAttribute("data-base");
  var out = document.getElementById("transform-url");
  var img = document.getElementById("transform-preview");
  function build() {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.value !== "") params.append(el.name, el.value);
    });
    var query = params.toString();
    return query ? base + "?" + query : base;
  }
  function update() {
    var url = build();
    out.textContent = url;
    if (img.getAttribute("src") !== url) img.setAttribute("src", url);
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", function (e) { e.preventDefault(); update(); });
  update();
})();
