/* The console's shared helpers: labels, number formatting (same rules as hub/web/console/i18n.py), JSON fetch. */
"use strict";
(function () {
  const config = JSON.parse((document.getElementById("console-config") || {}).textContent || "{}");
  const grouping = new Intl.NumberFormat("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  const whole = new Intl.NumberFormat("en-US", {maximumFractionDigits: 0});

  /** A value for a reader: 万 / 亿 in Chinese, thousands separators in English; money (元) with ¥; null is —. */
  function formatNumber(value, unit, lang) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "—";
    const money = unit === "元";
    const magnitude = Math.abs(value);
    let text;
    if (lang === "zh" && magnitude >= 1e8) text = grouping.format(value / 1e8) + "亿";
    else if (lang === "zh" && magnitude >= 1e4) text = grouping.format(value / 1e4) + "万";
    else if (money || !Number.isInteger(value)) text = grouping.format(value);
    else text = whole.format(value);
    if (money) return text.startsWith("-") ? "-¥" + text.slice(1) : "¥" + text;
    return text;
  }

  /** The page's view (unit, as_of, district or institution) as query parameters, with ``extra`` set too. */
  function viewParams(extra) {
    const view = config.view || {};
    const query = new URLSearchParams({unit: view.unit, as_of: view.as_of});
    if (view.district) query.set("district", view.district);
    if (view.institution) query.set("institution", view.institution);
    for (const [name, value] of Object.entries(extra || {})) query.set(name, value);
    return query;
  }

  /** GET a console JSON endpoint with the session cookie; rejects with the hub's error code. */
  async function getJson(url) {
    const response = await fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}});
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.code || String(response.status));
    return body;
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /** A new element with ``content`` as its text (never parsed as HTML) and ``attributes`` set. */
  function element(tag, content, attributes) {
    const node = document.createElement(tag);
    if (content !== undefined && content !== null) node.textContent = content;
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  }

  /** An ISO time as China's clock shows it, in the page's language; "—" for none. */
  function when(iso) {
    if (!iso) return "—";
    const moment = new Date(iso);
    return Number.isNaN(moment.getTime()) ? iso : moment.toLocaleString(config.lang === "zh" ? "zh-CN" : "en-GB",
      {timeZone: "Asia/Shanghai", hour12: false});
  }

  window.HIE = {config, t: (key) => (config.labels || {})[key] || key, formatNumber, getJson, csrfToken, viewParams,
                element, when};
})();
