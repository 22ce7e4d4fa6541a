// Swagger UI over the gateway's own OpenAPI document (routes/docs.py): a file, not an inline
// script, so the docs page runs under a Content-Security-Policy without 'unsafe-inline'.
// No validator badge: it would send the document to validator.swagger.io.

const container = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: container.dataset.specUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
