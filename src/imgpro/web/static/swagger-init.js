// Starts the vendored Swagger UI (static/vendor/swagger-ui) on this server's own schema.
// A file, not an inline script: the pages' CSP allows scripts from 'self' only.
(function () {
  var node = document.getElementById("swagger-ui");
  if (!node || !window.SwaggerUIBundle) return;
  window.ui = window.SwaggerUIBundle({
    url: node.getAttribute("data-openapi-url"),
    domNode: node,
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null, // never send the schema to swagger.io's validator
    tryItOutEnabled: false,
  });
})();
