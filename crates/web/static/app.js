// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";

  // Proof-of-work challenge: find a counter whose SHA-256 with the nonce has enough leading
  // zero bits, then hide the typed question.
  function zeroBits(bytes) {
    var n = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { n += 8; continue; }
      var b = bytes[i];
      while ((b & 0x80) === 0) { n++; b <<= 1; }
      break;
    }
    return n;
  }
  async function solve(box) {
    if (!window.crypto || !crypto.subtle) return;
    var nonce = box.getAttribute("data-pow-nonce");
    var bits = parseInt(box.getAttribute("data-pow-difficulty"), 10);
    var status = box.querySelector(".pow-status");
    var out = box.querySelector("input[name=pow]");
    status.hidden = false;
    var enc = new TextEncoder();
    for (var c = 0; c < 50000000; c++) {
      var d = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(nonce + ":" + c)));
      if (zeroBits(d) >= bits) {
        out.value = String(c);
        var q = box.querySelector(".captcha-question");
        if (q) q.hidden = true;
        status.textContent = status.getAttribute("data-done");
        return;
      }
    }
  }
  document.querySelectorAll("[data-pow-nonce]").forEach(solve);

  // Switching language reloads the page: keep what was typed on it (never passwords).
  var KEEP = "ekdwar-keep:" + location.pathname;
  var langs = document.querySelector("form.langs");
  if (langs) langs.addEventListener("submit", function () {
    var keep = {};
    document.querySelectorAll("main form input").forEach(function (i) {
      if (!i.name || i.type === "password" || i.type === "hidden") return;
      keep[i.name] = i.type === "checkbox" ? (i.checked ? "1" : "") : i.value;
    });
    try { sessionStorage.setItem(KEEP, JSON.stringify(keep)); } catch (e) {}
  });
  try {
    var kept = JSON.parse(sessionStorage.getItem(KEEP) || "null");
    sessionStorage.removeItem(KEEP);
    if (kept) Object.keys(kept).forEach(function (name) {
      var i = document.querySelector('main form input[name="' + CSS.escape(name) + '"]');
      if (!i) return;
      if (i.type === "checkbox") i.checked = kept[name] === "1";
      else if (!i.value) i.value = kept[name];
    });
  } catch (e) {}

  // Errors: focus the summary so screen readers announce it (autofocus does this without JS).
  var summary = document.querySelector(".error-summary");
  if (summary && document.activeElement !== summary) summary.focus();

  // Live password strength, judged by the server with the same estimator and rules that judge
  // the form, knowing the person's own names and contacts.
  document.querySelectorAll("input[data-strength]").forEach(function (input) {
    var out = document.getElementById(input.getAttribute("data-strength"));
    var labels = (out.getAttribute("data-labels") || "").split("|");
    var csrf = input.form.querySelector("input[name=csrf]");
    var portalId = input.form.querySelector("input[name=portal_id]");
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (!input.value) { out.textContent = ""; return; }
        var body = new URLSearchParams({
          csrf: csrf ? csrf.value : "",
          password: input.value,
          form: input.form.getAttribute("action") || "",
          portal_id: portalId ? portalId.value : ""
        });
        fetch("/password/strength", { method: "POST", body: body, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (j) {
            if (!j) return;
            var label = labels[j.score] || "";
            out.textContent = j.message ? label + ": " + j.message : label;
            out.setAttribute("data-score", String(j.score));
          })
          .catch(function () {});
      }, 250);
    });
  });

  // A "Show password" button beside each password field; without scripts there is none, and
  // the field stays hidden as usual.
  var show = document.body.getAttribute("data-show-password");
  var hide = document.body.getAttribute("data-hide-password");
  document.querySelectorAll("main input[type=password]").forEach(function (input) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "secondary reveal";
    b.textContent = show;
    b.setAttribute("aria-controls", input.id);
    b.setAttribute("aria-pressed", "false");
    b.addEventListener("click", function () {
      var shown = input.type === "text";
      input.type = shown ? "password" : "text";
      b.textContent = shown ? show : hide;
      b.setAttribute("aria-pressed", shown ? "false" : "true");
    });
    // Sent hidden, whatever the button says.
    input.form.addEventListener("submit", function () { input.type = "password"; });
    input.insertAdjacentElement("afterend", b);
  });
})();

// A form that hands the browser to a payment gateway by POST (PayU) sends itself; without
// JavaScript its button does.
(function () {
  var f = document.querySelector("form[data-autosubmit]");
  if (f) f.submit();
})();

// "Use my location": the browser's position fills the search instead of a PIN code.
(function () {
  var b = document.querySelector("button[data-locate]");
  if (!b || !navigator.geolocation) return;
  b.hidden = false;
  b.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (p) {
      var f = b.form;
      f.elements.lat.value = p.coords.latitude.toFixed(4);
      f.elements.lon.value = p.coords.longitude.toFixed(4);
      f.elements.pincode.value = "";
      f.submit();
    });
  });
})();

// The hall's display follows the queue every few seconds; without JavaScript it has a link.
(function () {
  var d = document.querySelector("[data-display]");
  if (!d || !window.fetch) return;
  var list = d.querySelector("ol.called");
  var empty = d.querySelector(".display-empty");
  var word = d.getAttribute("data-counter-word");
  function show(data) {
    list.textContent = "";
    data.called.forEach(function (t) {
      var li = document.createElement("li");
      var token = document.createElement("span");
      token.className = "token";
      token.textContent = t.token;
      var counter = document.createElement("span");
      counter.className = "counter";
      counter.textContent = word + " " + (t.counter || "");
      li.appendChild(token);
      li.appendChild(document.createTextNode(" → "));
      li.appendChild(counter);
      list.appendChild(li);
    });
    if (empty) empty.hidden = data.called.length > 0;
  }
  setInterval(function () {
    fetch(d.getAttribute("data-display"), { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) show(data); })
      .catch(function () {});
  }, 5000);
})();

// Passkeys: the browser's part of a WebAuthn ceremony. The portal sends the options as JSON
// (binary members in base64url); the device's answer goes back with the page's own form, so
// the ending and its errors are ordinary pages. Forms and notes marked for passkeys show only
// where the browser has them.
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) return;
  // Browsers refuse passkeys on an IP address (the portal keeps them at its host's name).
  if (/^[0-9.]+$|^\[/.test(location.hostname)) return;
  function toBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64u(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  // Members the options leave empty are dropped: a browser reads null as a wrong value.
  function clean(o) {
    if (Array.isArray(o)) return o.map(clean);
    if (o && typeof o === "object") {
      var out = {};
      Object.keys(o).forEach(function (k) { if (o[k] !== null) out[k] = clean(o[k]); });
      return out;
    }
    return o;
  }
  function ids(list) {
    (list || []).forEach(function (c) { c.id = toBuf(c.id); });
  }
  function creation(o) {
    var pk = clean(o.publicKey);
    pk.challenge = toBuf(pk.challenge);
    pk.user.id = toBuf(pk.user.id);
    ids(pk.excludeCredentials);
    return navigator.credentials.create({ publicKey: pk });
  }
  function request(o) {
    var pk = clean(o.publicKey);
    pk.challenge = toBuf(pk.challenge);
    ids(pk.allowCredentials);
    return navigator.credentials.get({ publicKey: pk });
  }
  function answer(cred) {
    var r = cred.response;
    var out = { id: cred.id, rawId: toB64u(cred.rawId), type: cred.type, extensions: {},
      response: { clientDataJSON: toB64u(r.clientDataJSON) } };
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      out.response.userHandle = r.userHandle ? toB64u(r.userHandle) : null;
    }
    return JSON.stringify(out);
  }
  function ceremony(form, optionsUrl, run) {
    var error = form.querySelector("[data-passkey-error]");
    var button = form.querySelector("button");
    function show(text) {
      error.querySelector("[data-passkey-message]").textContent = text;
      error.hidden = false;
      button.disabled = false;
    }
    form.addEventListener("submit", function (ev) {
      if (form.elements.credential.value) return;
      ev.preventDefault();
      error.hidden = true;
      button.disabled = true;
      var body = new URLSearchParams(new FormData(form));
      body.delete("credential");
      fetch(optionsUrl, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.error) return show(data.error);
          return run(data.options).then(function (cred) {
            form.elements.ceremony.value = data.ceremony;
            form.elements.credential.value = answer(cred);
            form.submit();
          });
        })
        .catch(function () { show(form.getAttribute("data-passkey-cancelled")); });
    });
  }
  document.querySelectorAll("[data-passkey]").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll("[data-passkey-no-script]").forEach(function (el) { el.hidden = true; });
  document.querySelectorAll("form[data-passkey-login]").forEach(function (f) {
    ceremony(f, "/login/passkey/options", request);
  });
  document.querySelectorAll("form[data-passkey-add]").forEach(function (f) {
    ceremony(f, "/account/passkeys/options", creation);
  });
})();
