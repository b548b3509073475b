/* Passkeys on the pages: sign in, second factor, confirm it's you, add one.
 *
 * Each passkey area is marked in the page:
 *   <div data-passkey="signin|mfa|reauth|register" data-options-url="..."
 *        [data-conditional]>
 *     <form hidden> csrf token, challenge_token, credential, a submit button </form>
 *     <p data-passkey-status hidden></p>      (what went wrong)
 *     <p data-passkey-fallback>...</p>        (optional: shown without JavaScript)
 *   </div>
 * The form stays hidden unless this browser can use passkeys. Submitting it
 * fetches the options (POST, JSON), asks the browser for the credential,
 * writes the answer into the hidden fields and submits the form for real: the
 * server answers with an ordinary page. No inline script, nothing from
 * elsewhere: the Content-Security-Policy allows only this site's files.
 */
(function () {
  "use strict";

  var MESSAGES = {
    unsupported: "This browser does not support passkeys. Use another way to continue.",
    cancelledCreate: "No passkey was added: the request was cancelled or timed out.",
    cancelledGet: "The passkey request was cancelled or timed out, or this device has no passkey for this account. Try again, or use another way.",
    excluded: "This device already has a passkey for your account.",
    insecure: "Passkeys cannot be used on this address.",
    failed: "Something went wrong with the passkey. Try again.",
    needsCode: "Enter the code we emailed you first."
  };

  var supported =
    typeof window.PublicKeyCredential === "function" &&
    !!navigator.credentials &&
    typeof navigator.credentials.create === "function";

  // -- base64url (for browsers without the JSON helpers) -------------------
  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    base64 += "====".slice((base64.length + 3) % 4 + 1);
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(descriptors) {
    return (descriptors || []).map(function (descriptor) {
      return Object.assign({}, descriptor, { id: toBytes(descriptor.id) });
    });
  }

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      allowCredentials: withIds(json.allowCredentials)
    });
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports =
        typeof response.getTransports === "function" ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      if (response.userHandle) json.response.userHandle = toText(response.userHandle);
    }
    return json;
  }

  // -- one passkey area ----------------------------------------------------
  function PasskeyArea(area) {
    this.area = area;
    this.purpose = area.getAttribute("data-passkey");
    this.form = area.querySelector("form");
    this.status = area.querySelector("[data-passkey-status]");
    this.fallback = area.querySelector("[data-passkey-fallback]");
    this.button = this.form.querySelector("button[type=submit]");
    this.conditional = null; // the AbortController of a pending autofill request
  }

  PasskeyArea.prototype.start = function () {
    if (this.fallback) this.fallback.hidden = true;
    if (!supported) {
      this.say(MESSAGES.unsupported, "info");
      return;
    }
    this.form.hidden = false;
    this.form.addEventListener("submit", this.onSubmit.bind(this));
    if (this.area.hasAttribute("data-conditional")) this.offerInAutofill();
  };

  PasskeyArea.prototype.say = function (text, kind) {
    this.status.textContent = text;
    this.status.className = "notice notice--" + (kind || "error");
    this.status.hidden = !text;
  };

  PasskeyArea.prototype.onSubmit = function (event) {
    event.preventDefault();
    var answer = this.form.querySelector("[data-passkey-credential]");
    if (this.purpose === "register" && answer.value) {
      // An answer the server kept (a mistyped emailed code): send it again
      // rather than make a second passkey on the device.
      this.form.submit();
      return;
    }
    var code = this.form.querySelector("[name=email_code][required]");
    if (code && !code.value.trim()) {
      this.say(MESSAGES.needsCode);
      code.focus();
      return;
    }
    if (this.conditional) this.conditional.abort();
    this.conditional = null;
    this.ceremony({});
  };

  // Conditional mediation: the browser lists this site's passkeys in the
  // username field's autofill (autocomplete="username webauthn").
  PasskeyArea.prototype.offerInAutofill = function () {
    var self = this;
    var check = PublicKeyCredential.isConditionalMediationAvailable;
    if (typeof check !== "function") return;
    check.call(PublicKeyCredential).then(function (available) {
      if (!available) return;
      self.conditional = new AbortController();
      self.ceremony({ mediation: "conditional", signal: self.conditional.signal, quiet: true });
    }, function () {});
  };

  PasskeyArea.prototype.ceremony = function (how) {
    var self = this;
    if (!how.quiet) {
      self.say("");
      self.button.disabled = true;
    }
    return this.fetchOptions()
      .then(function (answer) {
        if (answer === null) return null;
        var made =
          self.purpose === "register"
            ? navigator.credentials.create({ publicKey: creationOptions(answer.options) })
            : navigator.credentials.get({
                publicKey: requestOptions(answer.options),
                mediation: how.mediation,
                signal: how.signal
              });
        return made.then(function (credential) {
          self.finish(answer.challenge_token, credential);
        });
      })
      .catch(function (error) {
        if (how.quiet) return; // autofill: the user never asked, say nothing
        self.button.disabled = false;
        if (error && error.name === "AbortError") return;
        self.say(self.explain(error));
      });
  };

  PasskeyArea.prototype.fetchOptions = function () {
    var token = this.form.querySelector("[name=csrfmiddlewaretoken]").value;
    return fetch(this.area.getAttribute("data-options-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": token
      },
      body: "{}"
    }).then(function (response) {
      return response.json().then(
        function (body) {
          if (response.ok) return body;
          if (body.redirect) {
            window.location.assign(body.redirect);
            return null;
          }
          throw new Error(body.detail || MESSAGES.failed);
        },
        function () {
          throw new Error(MESSAGES.failed);
        }
      );
    });
  };

  PasskeyArea.prototype.finish = function (challengeToken, credential) {
    this.form.querySelector("[data-passkey-challenge]").value = challengeToken;
    this.form.querySelector("[data-passkey-credential]").value = JSON.stringify(
      credentialJSON(credential)
    );
    this.form.submit(); // no submit event: straight to the server
  };

  PasskeyArea.prototype.explain = function (error) {
    var name = error && error.name;
    if (name === "NotAllowedError") {
      return this.purpose === "register" ? MESSAGES.cancelledCreate : MESSAGES.cancelledGet;
    }
    if (name === "InvalidStateError") return MESSAGES.excluded;
    if (name === "SecurityError") return MESSAGES.insecure;
    if (name === "NotSupportedError") return MESSAGES.unsupported;
    return (error && error.message) || MESSAGES.failed;
  };

  document.querySelectorAll("[data-passkey]").forEach(function (area) {
    new PasskeyArea(area).start();
  });
})();
