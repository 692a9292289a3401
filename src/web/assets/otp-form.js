// Enhances the OTP page (which works without this script) through the JSON API: inline errors, attempts left,
// the resend countdown, change of destination, cancel, the redirect on completion, and WebOTP autofill.
(function () {
  'use strict';
  var root = document.getElementById('otp-step');
  if (!root || !window.fetch) return;
  var api = root.getAttribute('data-api');
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var errorBox = document.getElementById('otp-error');
  var notice = document.getElementById('otp-notice');
  var attempts = document.getElementById('attempts-left');
  var destination = document.getElementById('destination-text');
  var input = document.getElementById('otp');
  var resendButton = document.getElementById('resend');
  var text = function (name) { return root.getAttribute('data-' + name) || ''; };
  var fill = function (template, values) { return template.replace(/\{\{(\w+)\}\}/g, function (_, k) { return values[k] == null ? '' : String(values[k]); }); };
  var timer = null;

  function call(type, data) {
    var body = data === undefined ? { type: type } : { type: type, data: data };
    return fetch(api, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body)
    }).then(function (res) { return res.json().catch(function () { return { status: 'ERROR', error: { message: text('generic-error') } }; }); });
  }

  function showError(message) { errorBox.textContent = message || ''; if (message) notice.textContent = ''; }
  function showNotice(message) { notice.textContent = message || ''; }

  function showAttempts(left) {
    if (!attempts || typeof left !== 'number') return;
    attempts.textContent = fill(text(left === 1 ? 'attempts-one' : 'attempts-other'), { count: left });
  }

  function countdown(seconds) {
    if (!resendButton) return;
    clearInterval(timer);
    var left = Math.max(0, Math.ceil(seconds || 0));
    var label = text('resend-label');
    var tick = function () {
      if (left <= 0) {
        clearInterval(timer);
        resendButton.disabled = false;
        resendButton.textContent = label;
        return;
      }
      resendButton.disabled = true;
      resendButton.textContent = fill(text('resend-wait'), { seconds: left });
      left -= 1;
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  function afterAnswer(answer) {
    if (answer.status === 'COMPLETED' || answer.status === 'CANCELLED') {
      showNotice(text('redirecting'));
      window.location.assign(answer.location);
      return;
    }
    if (answer.status === 'ERROR') {
      showError(answer.error && answer.error.message);
      showAttempts(answer.attempts_left);
      if (answer.retry_after) countdown(answer.retry_after);
      if (answer.aborted && answer.location) {
        Array.prototype.forEach.call(root.querySelectorAll('button, input'), function (el) { el.disabled = true; });
        var link = document.getElementById('failure-link');
        if (link) { link.href = answer.location; link.hidden = false; }
      }
      return;
    }
    showError('');
    showAttempts(answer.attempts_left);
    if (answer.destination && destination) destination.textContent = fill(text('sent-to'), { destination: answer.destination });
    if (typeof answer.resend_in === 'number') countdown(answer.resend_in);
    if (resendButton && answer.codes_left === 0) resendButton.hidden = true;
  }

  function intercept(form, handler) {
    if (!form) return;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var buttons = form.querySelectorAll('button');
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      handler().then(afterAnswer, function () { showError(text('generic-error')); }).then(function () {
        Array.prototype.forEach.call(buttons, function (b) { if (b !== resendButton) b.disabled = false; });
      });
    });
  }

  intercept(document.getElementById('otp-form'), function () {
    var trust = document.getElementById('trust-device');
    return call('start', trust && trust.checked ? { otp: input.value, trust_device: true } : { otp: input.value });
  });
  intercept(document.getElementById('resend-form'), function () {
    return call('resend').then(function (answer) { if (answer.status === 'PENDING') showNotice(text('resent')); return answer; });
  });
  intercept(document.getElementById('cancel-form'), function () { return call('cancel'); });
  intercept(document.getElementById('change-form'), function () {
    return call('change_destination', { destination: document.getElementById('destination').value });
  });
  countdown(Number(root.getAttribute('data-resend-in') || 0));

  // WebOTP: the browser offers the code from an SMS that ends with "@host #code".
  if ('OTPCredential' in window && input) {
    var abort = new AbortController();
    navigator.credentials.get({ otp: { transport: ['sms'] }, signal: abort.signal }).then(function (otp) {
      if (otp && otp.code) { input.value = otp.code; document.getElementById('otp-form').requestSubmit(); }
    }).catch(function () { /* no SMS, or the user dismissed it */ });
    document.getElementById('otp-form').addEventListener('submit', function () { abort.abort(); });
  }
})();
