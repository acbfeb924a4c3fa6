// Buttons that change someone else's access ask first: <form data-confirm="…">.
(function () {
  'use strict';
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
  // The first-login dialog takes the focus so keyboard users land in it.
  var dialog = document.querySelector('[data-autofocus-dialog]');
  if (dialog) {
    var first = dialog.querySelector('input[type="checkbox"], button');
    if (first) first.focus();
  }
})();
