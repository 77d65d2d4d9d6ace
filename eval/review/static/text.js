// Dataset text for the review page: set only as text nodes (never parsed as HTML), each text isolated
// from its neighbours' direction, and invisible characters shown as markers.
"use strict";

// ZWJ/ZWNJ between two letters of these scripts are spelling (Persian می‌خواهم, Indic conjuncts): kept as they are
const JOINING = /[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Mongolian}\p{Script=Devanagari}\p{Script=Bengali}\p{Script=Gurmukhi}\p{Script=Gujarati}\p{Script=Oriya}\p{Script=Tamil}\p{Script=Telugu}\p{Script=Kannada}\p{Script=Malayalam}\p{Script=Sinhala}\p{M}]/u;

// One text, isolated from its neighbours' direction, each invisible character (``invisible``: code point ->
// name, from the server) replaced by a visible marker whose title names it.
function textEl(tag, cls, text, invisible, dir) {
  const box = document.createElement(tag);
  box.className = cls;
  box.dir = dir;
  const chars = [...text];
  let run = "";
  chars.forEach((ch, i) => {
    const code = "U+" + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
    const joiner = (ch === "\u200c" || ch === "\u200d") && JOINING.test(chars[i - 1] || "") && JOINING.test(chars[i + 1] || "");
    if (!(code in invisible) || joiner) { run += ch; return; }
    if (run) box.appendChild(document.createTextNode(run));
    run = "";
    const marker = document.createElement("span");
    marker.className = "invisible";
    marker.textContent = code.slice(2);
    marker.dataset.code = code;
    marker.dir = "ltr";
    marker.title = `${code} ${invisible[code]} (invisible in the text)`;
    box.appendChild(marker);
  });
  if (run) box.appendChild(document.createTextNode(run));
  return box;
}
