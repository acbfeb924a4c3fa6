// Passkeys (WebAuthn) on the pages, through @simplewebauthn/browser served from this origin
// (/assets/vendor/simplewebauthn/index.umd.min.js). A button with data-passkey sits in a form
// whose data-passkey-options holds the server's options (a challenge made for this page) and
// whose data-passkey is `create` (add a key) or `get` (prove one): the browser asks the
// authenticator, the answer goes into the form's hidden field, and the form is sent.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  document.querySelectorAll('button[data-passkey]').forEach(function (button) {
    var form = button.form;
    var error = form && form.querySelector('[data-passkey-error]');
    if (!lib || !lib.browserSupportsWebAuthn()) {
      button.disabled = true;
      if (error) {
        error.textContent = 'Этот браузер не поддерживает ключи доступа';
        error.hidden = false;
      }
      return;
    }
    button.addEventListener('click', function () {
      if (!form.reportValidity()) return;
      var optionsJSON = JSON.parse(form.getAttribute('data-passkey-options'));
      var create = form.getAttribute('data-passkey') === 'create';
      var field = form.querySelector(create ? 'input[name=attestation]' : 'input[name=assertion]');
      if (error) error.hidden = true;
      button.disabled = true;
      var ceremony = create
        ? lib.startRegistration({ optionsJSON: optionsJSON })
        : lib.startAuthentication({ optionsJSON: optionsJSON });
      ceremony.then(
        function (result) {
          field.value = JSON.stringify(result);
          form.submit();
        },
        function () {
          button.disabled = false;
          if (error) {
            error.textContent =
              'Ключ доступа не ответил или действие отменено. Попробуйте ещё раз.';
            error.hidden = false;
          }
        },
      );
    });
  });
})();
