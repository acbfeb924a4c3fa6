// «Скопировать» buttons: copy the text of the element named by data-copy-target (and say so in
// data-copy-status, with data-copy-done's words when given).
(function () {
  'use strict';
  document.querySelectorAll('[data-copy-target]').forEach(function (button) {
    var status = document.getElementById(button.getAttribute('data-copy-status') || '');
    button.addEventListener('click', function () {
      var target = document.getElementById(button.getAttribute('data-copy-target'));
      if (!target) return;
      var text = 'value' in target ? target.value : target.textContent;
      function done(ok) {
        if (status)
          status.textContent = ok
            ? button.getAttribute('data-copy-done') || 'Код скопирован'
            : 'Выделите текст и скопируйте вручную (Ctrl+C)';
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(
          function () {
            done(true);
          },
          function () {
            if (target.select) target.select();
            done(false);
          },
        );
      } else {
        if (target.select) target.select();
        done(document.execCommand && document.execCommand('copy'));
      }
    });
  });
})();
