import HTTPTypes
import Hummingbird
import Store

/// `GET /`: the search page, one HTML file with a little JavaScript, served by chorusd itself (no build step, no
/// external assets; works offline). It only calls the JSON API: pick a collection, type a sentence or drop an
/// image or audio file, see the hits (thumbnails, players, snippets from the items' stored previews), click one
/// to search by it. The daemon never reads a path for it.
struct SearchPage {
  let store: any CollectionBackend

  func register(on routes: RouteTable) {
    routes.add("/", .get, name: "Page") { _, _ in
      Response(
        status: .ok,
        headers: [
          .contentType: "text/html; charset=utf-8",
          // Only this page's own script and the daemon's own previews; nothing from elsewhere.
          .contentSecurityPolicy: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self'; connect-src 'self'",
          .xContentTypeOptions: "nosniff",
        ],
        body: .init(byteBuffer: ByteBuffer(string: Self.html)))
    }
  }

  static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Chorus search</title>
    <style>
      body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
      header { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; padding: .8rem 1rem; background: #fff; border-bottom: 1px solid #ddd; }
      header h1 { font-size: 1.1rem; margin: 0 1rem 0 0; }
      input[type=text] { flex: 1; min-width: 14rem; padding: .45rem; font-size: 1rem; }
      button, select { padding: .45rem .7rem; font-size: .95rem; }
      #drop { padding: .45rem .7rem; border: 2px dashed #aaa; border-radius: 6px; color: #555; cursor: pointer; }
      #drop.over { border-color: #06c; color: #06c; }
      #status { padding: .5rem 1rem; color: #555; min-height: 1.2rem; }
      #status.error { color: #b00; }
      #hits { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: .8rem; padding: 0 1rem 1rem; }
      .hit { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; cursor: pointer; overflow: hidden; }
      .hit:hover { border-color: #06c; }
      .hit img { width: 100%; height: 180px; object-fit: contain; background: #eee; display: block; }
      .hit audio { width: 100%; }
      .hit .snippet { font-size: .9rem; max-height: 8.5em; overflow: hidden; white-space: pre-wrap; }
      .hit .meta { font-size: .8rem; color: #666; margin-top: .3rem; word-break: break-all; }
      .hit .score { float: right; font-weight: 600; color: #06c; }
    </style>
    </head>
    <body>
    <header>
      <h1>Chorus</h1>
      <select id="collection" aria-label="collection"></select>
      <input id="query" type="text" placeholder="Describe what you are looking for…" autofocus>
      <button id="search">Search</button>
      <label id="drop" tabindex="0">or drop an image or sound<input id="file" type="file" accept="image/*,audio/*" hidden></label>
    </header>
    <div id="status"></div>
    <main id="hits"></main>
    <script>
    "use strict";
    const $ = (id) => document.getElementById(id);
    const k = 24;

    function status(text, isError) {
      $("status").textContent = text;
      $("status").className = isError ? "error" : "";
    }

    async function api(path, body) {
      const response = await fetch(path, body === undefined ? {} : {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
      return data;
    }

    const itemPath = (id) => `/v1/collections/${encodeURIComponent($("collection").value)}/items/${encodeURIComponent(id)}`;

    async function loadCollections() {
      try {
        const data = await api("/v1/collections");
        const collections = data.collections || [];
        $("collection").replaceChildren(...collections.map((c) => {
          const option = document.createElement("option");
          option.value = c.name;
          option.textContent = `${c.name} (${c.count || 0})`;
          return option;
        }));
        status(collections.length ? "" : "No collections yet: add some with `chorus add` or POST /v1/collections/{name}/upsert.");
      } catch (error) {
        status(`Cannot list collections: ${error.message}`, true);
      }
    }

    async function search(query, label) {
      const collection = $("collection").value;
      if (!collection) return status("Pick a collection first.", true);
      status(`Searching ${collection} for ${label}…`);
      try {
        const started = performance.now();
        const data = await api(`/v1/collections/${encodeURIComponent(collection)}/search`, { ...query, k });
        show(data.hits || []);
        status(`${(data.hits || []).length} hits for ${label} in ${Math.round(performance.now() - started)} ms`);
      } catch (error) {
        status(`Search failed: ${error.message}`, true);
      }
    }

    function show(hits) {
      $("hits").replaceChildren(...hits.map((hit) => {
        const card = document.createElement("div");
        card.className = "hit";
        card.dataset.id = hit.id;
        card.title = "Click to find more like this";
        const score = document.createElement("span");
        score.className = "score";
        score.textContent = (hit.score || 0).toFixed(3);
        card.append(score);
        if (hit.modality === "MODALITY_IMAGE") {
          const image = document.createElement("img");
          image.alt = hit.id;
          image.loading = "lazy";
          image.src = itemPath(hit.id) + "/thumbnail";
          card.append(image);
        } else if (hit.modality === "MODALITY_AUDIO") {
          const audio = document.createElement("audio");
          audio.controls = true;
          audio.preload = "none";
          audio.src = itemPath(hit.id) + "/preview";
          audio.addEventListener("click", (event) => event.stopPropagation());
          card.append(audio);
        } else {
          const snippet = document.createElement("div");
          snippet.className = "snippet";
          card.append(snippet);
          fetch(itemPath(hit.id) + "/preview").then((r) => (r.ok ? r.text() : "")).then((text) => { snippet.textContent = text; });
        }
        const meta = document.createElement("div");
        meta.className = "meta";
        meta.textContent = [hit.id, hit.source, ...Object.entries(hit.metadata || {}).map(([key, value]) => `${key}: ${value}`)]
          .filter(Boolean).join(" · ");
        card.append(meta);
        card.addEventListener("click", () => search({ likeId: hit.id }, `items like “${hit.id}”`));
        return card;
      }));
    }

    function searchFile(file) {
      const modality = file.type.startsWith("image/") ? "image" : file.type.startsWith("audio/") ? "audio" : null;
      if (!modality) return status(`${file.name}: not an image or a sound (${file.type || "unknown type"})`, true);
      const reader = new FileReader();
      reader.onload = () => {
        const base64 = String(reader.result).split(",", 2)[1] || "";
        search({ content: { [modality]: base64 } }, file.name);
      };
      reader.onerror = () => status(`Cannot read ${file.name}`, true);
      reader.readAsDataURL(file);
    }

    $("search").addEventListener("click", () => {
      const text = $("query").value.trim();
      if (text) search({ content: { text } }, `“${text}”`);
    });
    $("query").addEventListener("keydown", (event) => { if (event.key === "Enter") $("search").click(); });
    $("file").addEventListener("change", () => { if ($("file").files[0]) searchFile($("file").files[0]); });
    const drop = $("drop");
    drop.addEventListener("keydown", (event) => { if (event.key === "Enter") $("file").click(); });
    for (const name of ["dragenter", "dragover"]) drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
    for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer.files[0]) searchFile(event.dataTransfer.files[0]);
    });
    loadCollections();
    </script>
    </body>
    </html>
    """#
}
