/* The API as a page sees it: same-origin requests, the person's token from sessionStorage, and
   every failure turned into one shape, {status, code, message, fields, retryAfter}, from
   problem+json on the native API or the CDS shape on /cds/ (retryAfter: the seconds of a
   Retry-After header, else null). Each page makes its own client with `makeApi`. */
"use strict";

class ApiProblem extends Error {
  constructor(status, code, message, fields, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || [];
    this.retryAfter = retryAfter || null;
  }
}

/** `tokenKey`: where the token is kept; `base`: put before every path; `alwaysAuth`: send the
    token with every call (else only with `auth: true` or an explicit `token`). */
function makeApi({ tokenKey, base = "", alwaysAuth = false }) {
  return {
    base,

    token() {
      return sessionStorage.getItem(tokenKey);
    },

    setToken(token) {
      if (token) sessionStorage.setItem(tokenKey, token);
      else sessionStorage.removeItem(tokenKey);
    },

    /** `json` or `form` (a FormData) is the body; `token` sends that token instead. */
    async call(method, path, { json, form, token, auth = alwaysAuth, headers: extra = {} } = {}) {
      const headers = { Accept: "application/json, application/problem+json", ...extra };
      const bearer = token || (auth ? this.token() : null);
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
        const code = (data && (data.code || data.error)) || "http_" + response.status;
        const message =
          (data && (data.title || data.error_description || data.detail)) || response.statusText || t("request failed");
        const retryAfter = parseInt(response.headers.get("Retry-After") || "", 10);
        const fields = data && (data.errors || data.error_details);
        throw new ApiProblem(response.status, code, message, fields, retryAfter > 0 ? retryAfter : null);
      }
      return data;
    },
  };
}
