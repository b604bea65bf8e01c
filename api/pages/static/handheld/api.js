/* The native API as the handheld sees it: same-origin requests with the staff token, and
   every failure turned into one shape, {status, code, message, fields, retryAfter}, from
   problem+json (retryAfter: the seconds of a Retry-After header, else null). */
"use strict";

const TOKEN_KEY = "parking.handheld.token";

class ApiProblem extends Error {
  constructor(status, code, message, fields, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || [];
    this.retryAfter = retryAfter || null;
  }
}

const handheldApi = {
  base: document.body.dataset.api,

  token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },

  setToken(token) {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  },

  /** `path` is under /api/v1/<district>; `json` or `form` (a FormData) is the body. */
  async call(method, path, { json, form, token } = {}) {
    const headers = { Accept: "application/json, application/problem+json" };
    const bearer = token || this.token();
    if (bearer) headers.Authorization = "Bearer " + bearer;
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form; // the browser writes the multipart boundary itself
    }
    let response;
    try {
      response = await fetch(this.base + path, { method, headers, body, cache: "no-store" });
    } catch (err) {
      throw new ApiProblem(0, "network", navigator.onLine ? t("the server cannot be reached") : t("no network"));
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const code = (data && data.code) || "http_" + response.status;
      const message = (data && (data.title || data.detail)) || response.statusText || t("request failed");
      const retryAfter = parseInt(response.headers.get("Retry-After") || "", 10);
      throw new ApiProblem(response.status, code, message, data && data.errors, retryAfter > 0 ? retryAfter : null);
    }
    return data;
  },
};
