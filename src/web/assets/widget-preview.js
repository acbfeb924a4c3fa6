// The widget tab's preview: the chosen design and banner text, drawn with this site's own CSS
// (ПОС's script is never loaded here).
(function () {
  'use strict';
  var banner = document.getElementById('widget-preview-banner');
  var text = document.getElementById('widget-preview-text');
  var input = document.getElementById('bannerText');
  if (!banner || !text) return;
  var preview = banner.parentElement;
  var fallback = (preview && preview.getAttribute('data-default-text')) || '';
  document.querySelectorAll('input[data-banner-class]').forEach(function (radio) {
    radio.addEventListener('change', function () {
      if (!radio.checked) return;
      banner.className = 'pos-banner-fluid ' + radio.getAttribute('data-banner-class');
    });
  });
  if (input)
    input.addEventListener('input', function () {
      text.textContent = input.value.trim() || fallback;
    });
})();
