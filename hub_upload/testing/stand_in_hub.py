"""A stand-in Hugging Face Hub on loopback, for tests and benchmarks of `moud upload`.

The stand-in implements what ``huggingface_hub`` uses for an upload over plain HTTP (no Xet): whoami,
repo creation, branches, validate-yaml, preupload, the LFS batch API (+ PUT upload and verify), commit
(ndjson), tree listing and repo info. It records every request and stores what it receives.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from urllib.parse import unquote

import yaml
from aiohttp import web

from hub_upload.testing.hub_store import GITATTRIBUTES, Fault, Repo, apply_commit
from moud_core.loopback import LoopbackServer


class StandInHub(LoopbackServer):
    """A minimal Hub on 127.0.0.1 (bounded lifetime and request count), recording every request."""

    name = "stand-in-hub"
    client_max_size = 256 * 1024 * 1024

    def __init__(self, users: dict[str, dict], max_requests: int = 5000, max_seconds: float = 120.0):
        super().__init__(max_seconds=max_seconds)
        self.users = users  # token -> {"name": ..., "orgs": [...], "role": "write"}
        self.max_requests = max_requests
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.requests: list[dict] = []  # {"method","path","query","headers","body"}
        self.faults: list[Fault] = []
        self.lfs_puts: list[str] = []
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- scripting / inspection -------------------------------------------------------------------
    def fail(self, method: str, path_re: str, status: int, times: int = 1, after: int = 0) -> None:
        """Answer the next ``times`` requests matching (method, path regex) with ``status``, after
        letting ``after`` of them through."""
        self.faults.append(Fault(method, path_re, status, times, after))

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        out = {}
        for path, f in self.repos[repo_id].branches[revision].items():
            out[path] = f.content if f.content is not None else self.lfs[f.lfs_oid]
        return out

    # -- helpers ----------------------------------------------------------------------------------
    def _user(self, request) -> dict | None:
        auth = request.headers.get("Authorization", "")
        return self.users.get(auth[7:]) if auth.startswith("Bearer ") else None

    def _can_write(self, user: dict, repo: Repo) -> bool:
        return user["name"] == repo.owner or repo.owner in user.get("orgs", [])

    @staticmethod
    def _err(status: int, msg: str) -> web.Response:
        return web.json_response({"error": msg}, status=status, headers={"X-Error-Message": msg})

    def _commit(self, repo: Repo, branch: str, summary: str, ops: list[dict]) -> str:
        return apply_commit(repo, branch, summary, ops, self.lfs)

    # -- request handler --------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        raw_path = request.raw_path.split("?")[0]
        with self._lock:
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.raw_path,
                    "query": dict(request.query),
                    "headers": dict(request.headers),
                    "body": body,
                }
            )
            if len(self.requests) > self.max_requests:
                return self._err(503, "request budget exhausted")
            for fault in self.faults:
                if fault.times > 0 and fault.method == request.method and re.search(fault.path_re, raw_path):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    return self._err(fault.status, f"scripted error {fault.status}")
            return self._route(request, raw_path, body)

    def _route(self, request, path: str, body: bytes) -> web.Response:
        m = re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", path)
        if m and request.method == "PUT":  # presigned-style upload URL: no Authorization expected
            oid = m[1]
            if hashlib.sha256(body).hexdigest() != oid:
                return self._err(400, "sha256 mismatch")
            self.lfs[oid] = body
            self.lfs_puts.append(oid)
            return web.Response(status=200)
        user = self._user(request)
        if user is None:
            return self._err(401, "Invalid credentials in Authorization header")
        if path == "/api/whoami-v2" and request.method == "GET":
            return web.json_response(
                {
                    "type": "user",
                    "name": user["name"],
                    "orgs": [{"name": o, "roleInOrg": "write"} for o in user.get("orgs", [])],
                    "auth": {
                        "type": "access_token",
                        "accessToken": {"displayName": "t", "role": user.get("role", "write")},
                    },
                }
            )
        if path == "/api/validate-yaml" and request.method == "POST":
            content = json.loads(body)["content"]
            try:
                parts = content.split("---\n")
                yaml.safe_load(parts[1] if content.startswith("---\n") and len(parts) > 2 else "")
            except yaml.YAMLError as exc:
                return web.json_response({"errors": [{"message": str(exc)}]}, status=400)
            return web.json_response({"errors": [], "warnings": []})
        if path == "/api/repos/create" and request.method == "POST":
            payload = json.loads(body)
            owner = payload.get("organization") or user["name"]
            repo_id = f"{owner}/{payload['name']}"
            if payload.get("type") != "dataset":
                return self._err(400, "only dataset repos in this stand-in")
            if repo_id in self.repos:
                return web.json_response(
                    {
                        "error": "You already created this dataset repo",
                        "url": f"{self.endpoint}/datasets/{repo_id}",
                    },
                    status=409,
                )
            if owner != user["name"] and owner not in user.get("orgs", []):
                return self._err(
                    403, f"You don't have the rights to create a dataset under the namespace {owner}"
                )
            repo = Repo(
                owner=owner, private=payload.get("visibility") == "private" or bool(payload.get("private"))
            )
            repo.branches["main"] = {}
            self.repos[repo_id] = repo
            self._commit(
                repo,
                "main",
                "initial commit",
                [
                    {
                        "key": "file",
                        "value": {
                            "path": ".gitattributes",
                            "content": base64.b64encode(GITATTRIBUTES).decode(),
                        },
                    }
                ],
            )
            return web.json_response({"url": f"{self.endpoint}/datasets/{repo_id}", "name": repo_id})
        m = re.fullmatch(r"/api/datasets/([^/]+)/([^/]+)", path)
        if m and request.method == "GET":
            return self._repo_route(
                request, user, f"{unquote(m[1])}/{unquote(m[2])}", "revision", "main", body
            )
        m = re.fullmatch(
            r"/api/datasets/([^/]+)/([^/]+)/(preupload|commit|tree|revision|branch|paths-info)/([^/]+)(/.*)?",
            path,
        )
        if m:
            return self._repo_route(
                request, user, f"{unquote(m[1])}/{unquote(m[2])}", m[3], unquote(m[4]), body
            )
        m = re.fullmatch(r"/datasets/([^/]+)/([^/]+)\.git/info/lfs/objects/batch", path)
        if m and request.method == "POST":
            repo = self.repos.get(f"{m[1]}/{m[2]}")
            if repo is None:
                return self._err(404, "Repository not found")
            if repo.private and not self._can_write(user, repo):
                return self._err(403, "no write access")
            objects = []
            for obj in json.loads(body)["objects"]:
                entry = {"oid": obj["oid"], "size": obj["size"]}
                if obj["oid"] not in self.lfs:
                    entry["actions"] = {
                        "upload": {"href": f"{self.endpoint}/lfs-upload/{obj['oid']}"},
                        "verify": {"href": f"{self.endpoint}/lfs-verify"},
                    }
                objects.append(entry)
            return web.json_response({"transfer": "basic", "objects": objects})
        if path == "/lfs-verify" and request.method == "POST":
            oid = json.loads(body)["oid"]
            return web.json_response({}) if oid in self.lfs else self._err(404, "object not found")
        return self._err(404, f"stand-in Hub: no route for {request.method} {path}")

    def _repo_route(self, request, user, repo_id: str, action: str, rev: str, body: bytes) -> web.Response:
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and not self._can_write(user, repo)):
            return self._err(404, "Repository not found")
        if action == "branch" and request.method == "POST":
            if not self._can_write(user, repo):
                return self._err(403, "no write access")
            if rev in repo.branches:
                return self._err(409, "Reference already exists")
            repo.branches[rev] = dict(repo.branches["main"])
            repo.heads[rev] = repo.heads["main"]
            return web.json_response({})
        create_pr = request.query.get("create_pr") == "1"
        if rev not in repo.branches:
            return web.json_response(
                {"error": f"Invalid rev id: {rev}"}, status=404, headers={"X-Error-Code": "RevisionNotFound"}
            )
        if action == "revision" and request.method == "GET":
            return web.json_response(
                {
                    "id": repo_id,
                    "sha": repo.heads[rev],
                    "private": repo.private,
                    "siblings": [{"rfilename": p} for p in repo.branches[rev]],
                }
            )
        if action == "tree" and request.method == "GET":
            return web.json_response(
                [
                    {
                        "type": "file",
                        "path": p,
                        "size": f.size,
                        "oid": f.oid(),
                        **(
                            {"lfs": {"oid": f.lfs_oid, "size": f.size, "pointerSize": 134}}
                            if f.lfs_oid
                            else {}
                        ),
                    }
                    for p, f in sorted(repo.branches[rev].items())
                ]
            )
        if not (self._can_write(user, repo) or create_pr or rev.startswith("refs/pr/")):
            return self._err(403, "no write access")
        if action == "preupload" and request.method == "POST":
            files = repo.branches[rev]
            out = []
            for item in json.loads(body)["files"]:
                sample = base64.b64decode(item["sample"])
                lfs = item["path"].endswith(".parquet") or b"\0" in sample or item["size"] > 10_000_000
                existing = files.get(item["path"])
                oid = None
                if existing is not None:
                    oid = existing.lfs_oid if existing.lfs_oid else existing.oid()
                out.append(
                    {
                        "path": item["path"],
                        "uploadMode": "lfs" if lfs else "regular",
                        "shouldIgnore": False,
                        "oid": oid,
                    }
                )
            return web.json_response({"files": out, "commitOid": repo.heads[rev]})
        if action == "commit" and request.method == "POST":
            lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
            header = next(x for x in lines if x["key"] == "header")["value"]
            ops = [x for x in lines if x["key"] != "header"]
            for op in ops:
                if op["key"] == "lfsFile" and op["value"]["oid"] not in self.lfs:
                    return self._err(400, f"LFS object {op['value']['oid']} was never uploaded")
            branch = rev
            if create_pr:
                repo.prs += 1
                branch = f"refs/pr/{repo.prs}"
                repo.branches[branch] = dict(repo.branches[rev])
            oid = self._commit(repo, branch, header["summary"], ops)
            reply = {"commitUrl": f"{self.endpoint}/datasets/{repo_id}/commit/{oid}", "commitOid": oid}
            if create_pr:
                reply["pullRequestUrl"] = f"{self.endpoint}/datasets/{repo_id}/discussions/{repo.prs}"
            return web.json_response(reply)
        return self._err(404, f"stand-in Hub: no route for {request.method} {action}")

    # -- routes ---------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)
