// The live password checklist of /register and /account. The rules come from
// GET /api/v1/password-policy, so the page and the server never disagree; rules the browser
// cannot evaluate (the common-password list) stay neutral until the server answers the form.
(function () {
  'use strict';
  var list = document.querySelector('[data-password-checklist]');
  if (!list) return;
  var input = document.getElementById(list.getAttribute('data-for'));
  var repeat = document.getElementById(list.getAttribute('data-repeat') || '');
  var loginInput = document.getElementById(list.getAttribute('data-login') || '');
  var login = list.getAttribute('data-login-value') || '';
  if (!input) return;

  function length(value) {
    return Array.from(value).length;
  }

  function evaluator(rule, policy) {
    switch (rule.code) {
      case 'too_short':
        return function (p) {
          return length(p) >= policy.minLength;
        };
      case 'too_long':
        return function (p) {
          return length(p) <= policy.maxLength;
        };
      case 'cyrillic':
        return function (p) {
          return !/[\u0400-\u04FF\u0500-\u052F]/.test(p);
        };
      case 'control_character':
        return function (p) {
          // eslint-disable-next-line no-control-regex -- the rule is about control characters
          return !/[\u0000-\u001F\u007F-\u009F]/.test(p);
        };
      case 'contains_login':
        return function (p) {
          var l = (loginInput ? loginInput.value : login).trim().toLowerCase();
          return l.length < 3 || p.toLowerCase().indexOf(l) === -1;
        };
      default:
        if (rule.pattern) {
          var re = new RegExp(rule.pattern);
          return function (p) {
            return re.test(p);
          };
        }
        return null;
    }
  }

  function render(policy) {
    var items = [];
    list.textContent = '';
    policy.rules.forEach(function (rule) {
      var li = document.createElement('li');
      li.textContent = rule.message;
      li.setAttribute('data-rule', rule.code);
      list.appendChild(li);
      items.push({ li: li, test: evaluator(rule, policy) });
    });
    var match = null;
    if (repeat) {
      match = document.createElement('li');
      match.textContent = 'Пароли совпадают';
      match.setAttribute('data-rule', 'mismatch');
      list.appendChild(match);
    }
    function update() {
      var value = input.value;
      items.forEach(function (item) {
        if (!item.test) return;
        var state = value === '' ? '' : item.test(value) ? 'met' : 'unmet';
        item.li.className = state;
      });
      if (match) {
        var state = repeat.value === '' ? '' : repeat.value === value ? 'met' : 'unmet';
        match.className = state;
      }
    }
    input.addEventListener('input', update);
    if (repeat) repeat.addEventListener('input', update);
    if (loginInput) loginInput.addEventListener('input', update);
    update();
    list.setAttribute('data-ready', 'true');
  }

  fetch('/api/v1/password-policy', {
    headers: { accept: 'application/json' },
    credentials: 'same-origin',
  })
    .then(function (response) {
      if (!response.ok) throw new Error('policy ' + response.status);
      return response.json();
    })
    .then(render)
    .catch(function () {
      // The server-rendered list stays; the server checks the password on submit anyway.
    });
})();
