"""Export the memory graph as JSON, GraphML (networkx, Gephi) or Mermaid."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from reifier.adapters.store import Store
from reifier.errors import BadInput

FORMATS = ("json", "graphml", "mermaid")


def _label(node: dict[str, Any]) -> str:
    props = node["props"]
    text = props.get("title") or props.get("text") or props.get("command") or node["key"]
    if node["kind"] == "ErrorPattern" and props.get("kind") == "alert":
        text = ", ".join(f"{k}={v}" for k, v in props.get("labels", {}).items())
    text = str(text).splitlines()[0] if str(text) else node["key"]
    return text[:60]


def export(store: Store, fmt: str) -> str:
    """Render every node and edge in ``fmt`` (one of :data:`FORMATS`)."""
    nodes, edges = store.nodes(), store.edges()
    if fmt == "json":
        return json.dumps({"nodes": nodes, "edges": edges}, indent=2, sort_keys=True, default=str)
    if fmt == "graphml":
        return _graphml(nodes, edges)
    if fmt == "mermaid":
        lines = ["graph LR"]
        for n in nodes:
            label = _label(n).replace('"', "'").replace("[", "(").replace("]", ")")
            lines.append(f'  n{n["id"]}["{n["kind"]}: {label}"]')
        lines += [f"  n{e['src']} -->|{e['rel']}| n{e['dst']}" for e in edges]
        return "\n".join(lines) + "\n"
    raise BadInput(f"unknown graph format {fmt!r} (valid: {', '.join(FORMATS)})")


def _graphml(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> str:
    ns = "http://graphml.graphdrawing.org/xmlns"
    root = ET.Element("graphml", {"xmlns": ns})
    for key, target in (
        ("kind", "node"),
        ("key", "node"),
        ("label", "node"),
        ("props", "node"),
        ("rel", "edge"),
        ("props_e", "edge"),
    ):
        ET.SubElement(
            root,
            "key",
            {"id": key, "for": target, "attr.name": key.removesuffix("_e"), "attr.type": "string"},
        )
    graph = ET.SubElement(root, "graph", {"id": "reifier", "edgedefault": "directed"})
    for n in nodes:
        el = ET.SubElement(graph, "node", {"id": f"n{n['id']}"})
        for key, value in (
            ("kind", n["kind"]),
            ("key", n["key"]),
            ("label", _label(n)),
            ("props", json.dumps(n["props"], sort_keys=True, default=str)),
        ):
            ET.SubElement(el, "data", {"key": key}).text = value
    for i, e in enumerate(edges):
        el = ET.SubElement(
            graph, "edge", {"id": f"e{i}", "source": f"n{e['src']}", "target": f"n{e['dst']}"}
        )
        ET.SubElement(el, "data", {"key": "rel"}).text = e["rel"]
        ET.SubElement(el, "data", {"key": "props_e"}).text = json.dumps(e["props"], sort_keys=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
