// Every page: what a form page does after the server answered a failed POST.
(function () {
  'use strict';
  // The browser shows the page's own address instead of the POST's, so reloading it or coming
  // back to it opens the page again instead of re-sending the form or reaching a POST-only path.
  var main = document.getElementById('content');
  var pageUrl = main && main.getAttribute('data-page-url');
  if (pageUrl && pageUrl.charAt(0) === '/' && pageUrl.charAt(1) !== '/')
    window.history.replaceState(null, '', pageUrl);

  // A server error under a field speaks of the value that was sent; once the person edits the
  // field it no longer applies (and the live password checklist must not be contradicted).
  document.addEventListener('input', function (event) {
    var field = event.target;
    if (!field || !field.id || field.getAttribute('aria-invalid') !== 'true') return;
    var errors = document.getElementById(field.id + '-error');
    if (errors) errors.hidden = true;
    field.removeAttribute('aria-invalid');
  });
})();
