/* The page's words: the catalogue the server put in the page (<script id="messages">, the same
   messages /i18n/<locale>.json serves), English as the key. t("Pay %(amount)s", {amount})
   answers the translation with its placeholders filled in; an unknown message stays English. */
"use strict";

const pageWords = (() => {
  const source = document.getElementById("messages");
  const catalogue = source ? JSON.parse(source.textContent) : { locale: "en", messages: {} };
  return catalogue;
})();

function t(message, params) {
  const text = pageWords.messages[message] || message;
  if (!params) return text;
  return text.replace(/%\((\w+)\)[sd]/g, (whole, name) => (name in params ? String(params[name]) : whole));
}
