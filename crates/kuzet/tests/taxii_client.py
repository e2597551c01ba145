"""Reads a Kuzet TAXII 2.1 server with taxii2-client (PyPI), as a MISP or OpenCTI connector would.

Usage: taxii_client.py DISCOVERY_URL TOKEN. Prints one JSON document: what each collection held, read page by
page with the library's own paging.
"""
import json
import sys

import requests
from taxii2client.v21 import Server, as_pages


class Bearer(requests.auth.AuthBase):
    def __init__(self, token):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def main():
    url, token = sys.argv[1], sys.argv[2]
    server = Server(url, auth=Bearer(token))
    out = {"title": server.title, "roots": []}
    for root in server.api_roots:
        collections = []
        for collection in root.collections:
            objects = []
            pages = 0
            for envelope in as_pages(collection.get_objects, per_request=2):
                pages += 1
                objects.extend(envelope.get("objects", []))
            manifest = collection.get_manifest()
            collections.append({
                "id": collection.id,
                "alias": collection.alias,
                "title": collection.title,
                "can_read": collection.can_read,
                "pages": pages,
                "objects": objects,
                "manifest": len(manifest.get("objects", [])),
            })
        out["roots"].append({"url": root.url, "versions": root.versions, "collections": collections})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
