// "Cek struk saya": recompute a receipt's inclusion path with WebCrypto SHA-256, in this
// browser, up to the root this page publishes for the month (never the receipt's own word).
(function () {
  "use strict";
  const published = JSON.parse(document.getElementById("published-roots").textContent);
  const T = JSON.parse(document.getElementById("receipt-strings").textContent);
  const verdict = document.getElementById("verdict");
  const details = document.getElementById("verdict-details");

  function say(state, title, lines) {
    verdict.dataset.state = state;
    verdict.textContent = title;
    details.replaceChildren(...lines.map(function (line) {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }));
  }

  function hexBytes(text, what) {
    if (typeof text !== "string" || !/^([0-9a-f]{2}){32}$/.test(text)) {
      throw new Error(T.bad_hash.replace("{what}", what));
    }
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  function hexOf(bytes) {
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  async function sha256(prefix, parts) {
    const size = 1 + parts.reduce(function (n, p) { return n + p.length; }, 0);
    const data = new Uint8Array(size);
    data[0] = prefix;
    let at = 1;
    for (const part of parts) { data.set(part, at); at += part.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  }

  // RFC 9162 section 2.1.3.2, with arithmetic instead of 32-bit shifts (sizes beyond 2^31).
  async function rootOf(index, size, leaf, path) {
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
      throw new Error(T.bad_index);
    }
    let fn = index, sn = size - 1, r = leaf;
    for (const sibling of path) {
      if (sn === 0) throw new Error(T.path_too_long);
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(1, [sibling, r]);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await sha256(1, [r, sibling]);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error(T.path_too_short);
    return r;
  }

  // For tests and curious auditors: the path walk alone, on hex (window.mscRootOf).
  window.mscRootOf = async function (index, size, leafHex, pathHex) {
    const path = pathHex.map(function (node) { return hexBytes(node, T.sibling); });
    return hexOf(await rootOf(index, size, hexBytes(leafHex, "leaf"), path));
  };

  function proofsOf(receipt) {
    if (receipt && Array.isArray(receipt.entries)) return receipt.entries;
    if (receipt && receipt.proof) return [receipt.proof];
    if (receipt && typeof receipt.leaf === "string") return [receipt];
    throw new Error(T.not_a_receipt);
  }

  async function check(proof) {
    const month = published[proof.period];
    if (month === undefined) throw new Error(T.unknown_month.replace("{period}", String(proof.period)));
    if (proof.tree_size !== month.tree_size) {
      throw new Error(T.other_size.replace("{period}", proof.period)
        .replace("{size}", String(proof.tree_size)).replace("{published}", String(month.tree_size)));
    }
    if (proof.root !== month.root) {
      throw new Error(T.other_root.replace("{period}", proof.period));
    }
    if (!Array.isArray(proof.path)) throw new Error(T.not_a_receipt);
    const path = proof.path.map(function (node, i) { return hexBytes(node, T.sibling + " " + (i + 1)); });
    const leaf = await sha256(0, [new TextEncoder().encode(proof.leaf)]);
    const root = hexOf(await rootOf(proof.leaf_index, proof.tree_size, leaf, path));
    if (root !== month.root) {
      throw new Error(T.mismatch.replace("{period}", proof.period).replace("{root}", root));
    }
    return T.entry_ok.replace("{index}", String(proof.leaf_index)).replace("{period}", proof.period);
  }

  document.getElementById("receipt-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!window.crypto || !crypto.subtle) { say("refused", T.refused, [T.no_webcrypto]); return; }
    let receipt;
    try {
      receipt = JSON.parse(document.getElementById("receipt").value);
    } catch (error) {
      say("refused", T.refused, [T.not_json]);
      return;
    }
    const lines = [];
    try {
      const proofs = proofsOf(receipt);
      if (proofs.length === 0) throw new Error(T.no_entries);
      for (const proof of proofs) lines.push(await check(proof));
    } catch (error) {
      say("refused", T.refused, lines.concat([error.message]));
      return;
    }
    say("ok", T.verified, lines);
  });
})();
