/*
 * Example SPA: an identity-service session kept out of JavaScript's reach.
 *
 * The round-trip, for SPA authors
 * -------------------------------
 * 1. Sign in (signup, signin, signin/mfa, signin/code, passkeys/signin) with
 *    the header `X-Token-Transport: cookie`. The answer's body has the
 *    access token and NO refresh token; the refresh token arrives as the
 *    HttpOnly cookie `__Host-identity_refresh` (`identity_refresh` when the
 *    service runs on plain http). Script never sees it: document.cookie does
 *    not list it, so an XSS can use the session while the page is open but
 *    cannot carry it away.
 * 2. Keep the access token in memory only (a variable; never localStorage or
 *    sessionStorage) and send it as `Authorization: Bearer <token>`.
 * 3. Before it expires (`expires_in` seconds), POST /api/v1/auth/token/refresh
 *    with the header and an empty JSON body. The browser sends the cookie; the
 *    answer is a new access token and a rotated cookie.
 * 4. After a reload, memory is empty: call refresh the same way. 200 means the
 *    user is still signed in; 401 means signed out (and the cookie is cleared).
 * 5. Sign out: POST /api/v1/auth/signout with the header and the bearer token.
 *    The session ends and the cookie is cleared.
 *
 * Every request that carries the header must come with an Origin the service
 * allows (SITE_URL, FRONTEND_URL or CORS_ALLOWED_ORIGINS), otherwise 403.
 * Browsers add Origin to POST requests themselves.
 *
 * Two tabs share one cookie. If both refresh at once, the loser presents the
 * token the winner has just rotated and gets 409 {"code": "refresh_conflict"}:
 * nothing is revoked, the cookie jar already holds the new token, so wait a
 * moment and refresh again. A token presented again later than 10 s after its
 * rotation is treated as stolen: every session of the account is revoked.
 *
 * This page is served by the service itself (same origin). An SPA on another
 * host of the same site (app.example.com beside id.example.com) sets API to
 * the service's URL, uses `credentials: "include"`, and needs its origin in
 * CORS_ALLOWED_ORIGINS with CORS_ALLOW_CREDENTIALS=true. A cross-site SPA
 * cannot use the cookie (SameSite=Strict): it uses the body transport.
 */
"use strict";

const API = "/api/v1";
const TRANSPORT = { "X-Token-Transport": "cookie" };
// Refresh this long before the access token expires.
const REFRESH_MARGIN_SECONDS = 60;
// After a refresh_conflict (another tab refreshed first), retry after this.
const CONFLICT_RETRY_MS = 500;

// The access token lives here and nowhere else.
let accessToken = null;
let refreshTimer = null;

// ---------------------------------------------------------------------------
// Talking to the API
// ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
    this.body = body;
  }
}

/** POST or GET JSON; resolves to {status, body}, rejects with ApiError. */
async function call(path, { method = "POST", body, cookie = false, bearer = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (cookie) Object.assign(headers, TRANSPORT);
  if (bearer && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // Same origin here; "include" for an SPA on a sibling host.
      credentials: "same-origin",
    });
  } catch (error) {
    throw new ApiError(0, { detail: "The service cannot be reached." });
  }
  const text = await response.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch (error) {
    data = { detail: `Unexpected answer (${response.status}).` };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, body: data };
}

/** A readable sentence from a DRF error body. */
function describeError(status, body) {
  if (status === 0) return body.detail;
  if (status === 403 && body.detail && body.detail.includes("X-Token-Transport")) {
    return `${body.detail} Open this page at the service's SITE_URL.`;
  }
  if (body && typeof body.detail === "string") return body.detail;
  if (body && typeof body === "object") {
    const parts = Object.entries(body).map(([field, messages]) => {
      const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
      return field === "non_field_errors" ? text : `${field}: ${text}`;
    });
    if (parts.length) return parts.join(" ");
  }
  return `The request failed (${status}).`;
}

// ---------------------------------------------------------------------------
// The session
// ---------------------------------------------------------------------------

/** Keep a token answer's access token and schedule the silent refresh. */
function startSession(tokenAnswer) {
  accessToken = tokenAnswer.access_token;
  clearTimeout(refreshTimer);
  const delay = Math.max(5, tokenAnswer.expires_in - REFRESH_MARGIN_SECONDS);
  refreshTimer = setTimeout(() => refresh().catch(showError), delay * 1000);
}

function endSession() {
  accessToken = null;
  clearTimeout(refreshTimer);
  refreshTimer = null;
}

/**
 * Exchange the cookie for a new access token (and a rotated cookie).
 * Resolves true when signed in, false when there is no live session.
 */
async function renew() {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      // Empty body: a refresh_token in the body together with the header is a 400.
      const { body } = await call("/auth/token/refresh", { body: {}, cookie: true });
      startSession(body);
      return true;
    } catch (error) {
      if (error.status === 409 && error.body.code === "refresh_conflict") {
        // Another tab rotated the cookie a moment ago; ours is now current.
        await new Promise((resolve) => setTimeout(resolve, CONFLICT_RETRY_MS));
        continue;
      }
      if (error.status === 401) {
        // No cookie, or a dead session: the service has cleared the cookie.
        endSession();
        return false;
      }
      throw error;
    }
  }
  throw new ApiError(409, { detail: "Another tab keeps refreshing; reload the page." });
}

/** The silent refresh, shortly before the access token expires. */
async function refresh() {
  if (!(await renew())) showSignedOut("Your session has ended. Sign in again.");
}

/** On page load: sign back in through the cookie, if there is one. */
async function resume() {
  if (await renew()) {
    await showAccount();
  } else {
    showSignedOut();
  }
}

/** A sign-in answered: 200/201 with tokens, or 202 asking for a second factor. */
async function signedIn(answer) {
  if (answer.status === 202 && answer.body.mfa_required) {
    askSecondFactor(answer.body.mfa_token, answer.body.methods);
    return;
  }
  if (!answer.body.access_token) {
    // EMAIL_VERIFICATION=mandatory: the account exists, no tokens until verified.
    showSignedOut(answer.body.detail || "Check your email to verify your address.");
    return;
  }
  startSession(answer.body);
  await showAccount();
}

async function showAccount() {
  const { body: me } = await call("/users/me", { method: "GET", bearer: true });
  text("me-username", me.username);
  text("me-email", me.email);
  text("me-verified", me.email_verified ? "yes" : "no");
  text("me-last-login", me.last_login ? new Date(me.last_login).toLocaleString() : "–");
  show("signed-in");
  hide("signed-out", "second-factor", "error");
  status(`Signed in as ${me.username}.`);
}

// ---------------------------------------------------------------------------
// Sign-in flows (every one sends the transport header)
// ---------------------------------------------------------------------------

let pendingMfaToken = null;
let pendingCodeToken = null;

async function signUp(form) {
  const answer = await call("/auth/signup", {
    body: { email: form.email.value, username: form.username.value, password: form.password.value },
    cookie: true,
  });
  form.reset();
  await signedIn(answer);
}

async function signInWithPassword(form) {
  const answer = await call("/auth/signin", {
    // `email` accepts a username too.
    body: { email: form.identifier.value, password: form.password.value },
    cookie: true,
  });
  form.password.value = "";
  await signedIn(answer);
}

async function requestCode(form) {
  const { body } = await call("/auth/signin/code/request", { body: { email: form.email.value } });
  // The same answer for every address: nothing tells whether an account exists.
  pendingCodeToken = body.code_token;
  show("code-form");
  status("If an account uses this address, a code is on its way. Enter it below.");
  document.getElementById("code-value").focus();
}

async function signInWithCode(form) {
  const answer = await call("/auth/signin/code", {
    body: { code_token: pendingCodeToken, code: form.code.value },
    cookie: true,
  });
  form.reset();
  hide("code-form");
  pendingCodeToken = null;
  await signedIn(answer);
}

function askSecondFactor(mfaToken, methods = []) {
  pendingMfaToken = mfaToken;
  const passkey = PASSKEYS && methods.includes("passkey");
  const ways = [];
  if (passkey) ways.push("use your passkey");
  if (methods.includes("totp")) ways.push("enter a code from your authenticator app");
  if (methods.includes("recovery_code")) ways.push("enter a recovery code");
  document.getElementById("mfa-passkey").hidden = !passkey;
  hide("signed-out");
  show("second-factor");
  if (!ways.length) {
    status("This account's second factor is a passkey: use a browser that supports passkeys.");
    return;
  }
  const sentence = ways.join(", or ");
  status(`${sentence[0].toUpperCase()}${sentence.slice(1)}.`);
  document.getElementById("mfa-code").focus();
}

async function completeSecondFactor(form) {
  // In a two-step sign-in this request (the one that issues the tokens)
  // chooses the transport: it must carry the header.
  const answer = await call("/auth/signin/mfa", {
    body: { mfa_token: pendingMfaToken, code: form.code.value.trim() },
    cookie: true,
  });
  form.reset();
  pendingMfaToken = null;
  await signedIn(answer);
}

// ---------------------------------------------------------------------------
// Passkeys (WebAuthn)
// ---------------------------------------------------------------------------
//
// The service's options are JSON with base64url strings; the browser wants
// ArrayBuffers, and gives back a credential the service wants as JSON again.
// Recent browsers convert both ways (parseRequestOptionsFromJSON, toJSON);
// for the others, the few lines of base64url below do it.
// Browsers refuse WebAuthn on an IP address: open the page at a host name.

const PASSKEYS = typeof window.PublicKeyCredential === "function";

/** An error whose message is meant for the user as it is. */
class PasskeyError extends Error {}

function fromBase64url(text) {
  // atob accepts base64 without its "=" padding.
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0)).buffer;
}

function toBase64url(buffer) {
  const binary = String.fromCharCode(...new Uint8Array(buffer));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function requestOptionsFromJSON(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((allowed) => ({
      ...allowed,
      id: fromBase64url(allowed.id),
    })),
  };
}

function credentialToJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const { response } = credential;
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      // A discoverable passkey names its account; the service checks it.
      userHandle: response.userHandle ? toBase64url(response.userHandle) : undefined,
    },
  };
}

/**
 * Ask the service for options, the browser for an assertion. Resolves to
 * {challenge_token, credential}, ready to POST with whatever else the step needs.
 */
async function passkeyAssertion(optionsRequest) {
  if (!PASSKEYS || !navigator.credentials) {
    throw new PasskeyError("This browser does not support passkeys.");
  }
  const { body } = await call("/auth/webauthn/options", { body: optionsRequest });
  let credential;
  try {
    credential = await navigator.credentials.get({
      publicKey: requestOptionsFromJSON(body.options),
    });
  } catch (error) {
    throw new PasskeyError(explainPasskeyError(error));
  }
  return { challenge_token: body.challenge_token, credential: credentialToJSON(credential) };
}

function explainPasskeyError(error) {
  switch (error && error.name) {
    case "NotAllowedError":
      // One error for all three, on purpose: a page may not learn whether
      // the device holds a passkey for it.
      return "No passkey was used: the request was cancelled or timed out, " +
        "or this device has no passkey for this service.";
    case "SecurityError":
      // The page is not on the service's domain (the rp id), or on an IP address.
      return "Passkeys cannot be used at this address: open this page at the service's SITE_URL.";
    case "NotSupportedError":
      return "This browser does not support passkeys.";
    default:
      return `The passkey did not work: ${error}`;
  }
}

/** Passwordless: the passkey is the whole sign-in, never answered with a 202. */
async function signInWithPasskey() {
  const answer = await call("/auth/passkeys/signin", {
    body: await passkeyAssertion({ purpose: "signin" }),
    cookie: true,
  });
  await signedIn(answer);
}

/** A passkey as the second factor of a 202 sign-in. */
async function completeSecondFactorWithPasskey() {
  const proof = await passkeyAssertion({ purpose: "mfa", mfa_token: pendingMfaToken });
  const answer = await call("/auth/signin/mfa", {
    body: { mfa_token: pendingMfaToken, ...proof },
    cookie: true,
  });
  pendingMfaToken = null;
  await signedIn(answer);
}

async function signOut() {
  // The bearer token proves who asks; the cookie names the session.
  const request = () => call("/auth/signout", { body: {}, cookie: true, bearer: true });
  try {
    await request();
  } catch (error) {
    if (error.status !== 401) throw error;
    // The access token had expired (a laptop lid closed past its refresh):
    // renew it through the cookie and sign out then. No live session: done.
    if (await renew()) await request();
  }
  endSession();
  showSignedOut("Signed out.");
}

// ---------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------

function show(...ids) {
  ids.forEach((id) => { document.getElementById(id).hidden = false; });
}

function hide(...ids) {
  ids.forEach((id) => { document.getElementById(id).hidden = true; });
}

function text(id, value) {
  document.getElementById(id).textContent = value;
}

function status(message) {
  text("status", message);
}

function showError(error) {
  const forUser = error instanceof ApiError || error instanceof PasskeyError;
  text("error", forUser ? error.message : `Something went wrong: ${error}`);
  show("error");
}

function showSignedOut(message = "You are signed out.") {
  hide("signed-in", "second-factor");
  show("signed-out");
  status(message);
}

/** Submit handler: no page reload, errors shown in the alert line. */
function onSubmit(id, handler) {
  document.getElementById(id).addEventListener("submit", async (event) => {
    event.preventDefault();
    hide("error");
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await handler(event.target);
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
}

/** Click handler for a button that starts a request, the same way. */
function onClick(id, handler) {
  const button = document.getElementById(id);
  button.addEventListener("click", async () => {
    hide("error");
    button.disabled = true;
    try {
      await handler();
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  onSubmit("signup-form", signUp);
  onSubmit("signin-form", signInWithPassword);
  onSubmit("code-request-form", requestCode);
  onSubmit("code-form", signInWithCode);
  onSubmit("mfa-form", completeSecondFactor);
  onClick("signout", signOut);
  onClick("mfa-passkey-button", completeSecondFactorWithPasskey);
  if (PASSKEYS) {
    onClick("passkey-signin-button", signInWithPasskey);
    show("passkey-signin");
  } else {
    show("passkey-unsupported");
  }
  // A reload: no access token in memory. The cookie (if any) signs us back in.
  resume().catch((error) => {
    showSignedOut();
    showError(error);
  });
});
