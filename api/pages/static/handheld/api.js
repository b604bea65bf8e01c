/* The handheld's client of the API (shared/api.js): paths under /api/v1/<district>, the staff
   token sent with every call. */
"use strict";

const handheldApi = makeApi({ tokenKey: "parking.handheld.token", base: document.body.dataset.api, alwaysAuth: true });
