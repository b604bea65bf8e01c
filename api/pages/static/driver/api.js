/* The driver page's client of the API (shared/api.js): absolute same-origin paths, the
   driver's token sent only where a call asks for it (`auth: true`). */
"use strict";

const driverApi = makeApi({ tokenKey: "parking.driver.token" });
