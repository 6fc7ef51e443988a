"""The rating page and its small JSON API (Flask).

Images are served only by their opaque study id (checked against the study, never joined to a path
from the request), answers are validated against the rater's stored sequence before anything is
written, and a malformed or replayed request gets a 4xx and changes nothing.
"""

from __future__ import annotations

import re
import socket
from importlib.resources import files
from pathlib import Path
from typing import Any

from flask import Flask, abort, jsonify, request, send_file
from werkzeug.serving import BaseWSGIServer, make_server

from ecogen.errors import EcogenError

from ecogen.rating.store import ANSWERS, AnswerStore, Conflict
from ecogen.rating.study import IMAGES, load_study

NAME_MAX = 64
ID_PATTERN = re.compile(r"[0-9a-f]{16}")
INT_MAX = 2**31 - 1  # ids and positions: SQLite takes 64 bits, no study comes near 31
CSP = "default-src 'self'; img-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'"


def _name(value: Any) -> str | None:
    """A rater name: 1-64 printable characters (it is shown back to them, escaped, and stored as is)."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    if not 0 < len(name) <= NAME_MAX or any(not ch.isprintable() for ch in name):
        return None
    return name


def create_app(folder: str | Path) -> Flask:
    folder = Path(folder).resolve()  # Flask's send_file joins a relative path to the package, not the cwd
    study = load_study(folder)
    store = AnswerStore(folder, study)
    images = {i.id: folder / IMAGES / f"{i.id}.png" for i in study.images}
    page = files("ecogen.rating").joinpath("page.html").read_text()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 4096  # an answer is a few dozen bytes
    app.config["STUDY_FOLDER"] = str(folder)

    @app.after_request
    def headers(response):  # type: ignore[no-untyped-def]
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    def body() -> dict:
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # a body nested thousands deep: the parser gives up, so do we
            abort(400, "the JSON body is nested too deeply")
        if not isinstance(data, dict):
            abort(400, "expected a JSON object")
        return data

    def known(rater_id: int) -> int:
        if rater_id > INT_MAX:
            abort(400, "rater id out of range")
        if not store.exists(rater_id):
            abort(404, "no such rater")
        return rater_id

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return page, 200, {"Content-Type": "text/html; charset=utf-8"}

    @app.post("/api/raters")
    def register():  # type: ignore[no-untyped-def]
        name = _name(body().get("name"))
        if name is None:
            abort(400, f"a name is 1 to {NAME_MAX} printable characters")
        rater_id = store.rater(name)
        nxt = store.next_image(rater_id)
        return jsonify(rater=rater_id, name=name, started=nxt is None or nxt[0] > 0)

    @app.get("/api/tutorial")
    def tutorial():  # type: ignore[no-untyped-def]
        return jsonify([{"image": f"/images/{i.id}.png", "truth": i.truth} for i in study.tutorial])

    @app.get("/api/raters/<int:rater_id>/next")
    def next_image(rater_id: int):  # type: ignore[no-untyped-def]
        nxt = store.next_image(known(rater_id))
        if nxt is None:
            return jsonify(done=True)
        position, image_id, total = nxt
        return jsonify(done=False, position=position, total=total, image_id=image_id, image=f"/images/{image_id}.png")

    @app.post("/api/raters/<int:rater_id>/answers")
    def answer(rater_id: int):  # type: ignore[no-untyped-def]
        data = body()
        position, image_id, value = data.get("position"), data.get("image_id"), data.get("answer")
        if (not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= INT_MAX
                or not isinstance(image_id, str)
                or not ID_PATTERN.fullmatch(image_id) or value not in ANSWERS):
            abort(400, "expected position (int), image_id and answer (real or fake)")
        try:
            store.answer(known(rater_id), position, image_id, value)
        except Conflict as err:
            abort(409, str(err))
        return jsonify(stored=True), 201

    @app.get("/images/<image_id>.png")
    def image(image_id: str):  # type: ignore[no-untyped-def]
        path = images.get(image_id) if ID_PATTERN.fullmatch(image_id) else None
        if path is None:
            abort(404)
        return send_file(path, mimetype="image/png")

    return app


def open_server(folder: str | Path, host: str = "127.0.0.1", port: int = 8765) -> BaseWSGIServer:
    """The page on a bound socket, not yet serving: a port in use is an error before any URL is announced
    (Werkzeug alone would print its own message and exit 1). Werkzeug's threaded server: plenty for a
    handful of raters. Call ``serve_forever()``; Ctrl-C stops it."""
    if not 0 <= port < 65536:
        raise EcogenError(f"--port must be 0 to 65535 (got {port})")
    app = create_app(folder)
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
    except OSError as err:
        raise EcogenError(f"cannot listen on {host}:{port}: {err.strerror or err} (is another server using it? "
                          f"choose another --port)") from None
    try:
        return make_server(host, port, app, threaded=True, fd=sock.fileno())
    finally:
        sock.close()  # the server holds its own duplicate of the socket
