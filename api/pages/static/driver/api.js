/* The API as the driver's page sees it: same-origin requests, the driver's token from
   sessionStorage, and every failure turned into one shape {status, code, message, fields}. */
"use strict";

const DRIVER_TOKEN_KEY = "parking.driver.token";

class ApiProblem extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || [];
  }
}

const driverApi = {
  token() {
    return sessionStorage.getItem(DRIVER_TOKEN_KEY);
  },

  setToken(token) {
    if (token) sessionStorage.setItem(DRIVER_TOKEN_KEY, token);
    else sessionStorage.removeItem(DRIVER_TOKEN_KEY);
  },

  /** `url` is a same-origin path; `json` the body; `auth` sends the driver's token. */
  async call(method, url, { json, auth = false, headers: extra = {} } = {}) {
    const headers = { Accept: "application/json, application/problem+json", ...extra };
    if (auth && this.token()) headers.Authorization = "Bearer " + this.token();
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(url, { method, headers, body, cache: "no-store" });
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
      // problem+json on the native API; the CDS shape on /cds/.
      const code = (data && (data.code || data.error)) || "http_" + response.status;
      const message =
        (data && (data.title || data.error_description || data.detail)) || response.statusText || t("request failed");
      throw new ApiProblem(response.status, code, message, data && (data.errors || data.error_details));
    }
    return data;
  },
};
