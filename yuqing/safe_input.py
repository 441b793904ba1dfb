"""Input at the door: config files (YAML), JSON from outside, and text made valid Unicode.

``load_yaml_file`` is the one loader for every YAML config file (sources, alert rules, departments,
policies, holidays), so a hostile or mistaken file is a one-line error naming the
file, the field and the fix instead of a traceback, 100 % CPU or a RecursionError:

- a size cap (``MAX_CONFIG_BYTES``), checked before anything is parsed;
- UTF-8 only (a BOM is allowed); a GBK/GB18030 file is named as such with the command that converts it;
- aliases are allowed but their expansion is bounded (``MAX_EXPANDED_NODES``): a "billion laughs" file
  and a self-referencing alias (``name: &a [*a]``) are refused; nesting is bounded (``MAX_DEPTH``);
- a key given twice in one mapping is refused (YAML would silently keep the last one).

``ConfigFileError`` carries ``path``, ``field``, ``problem`` and ``fix``; ``str()`` is one line.
``validation_problems`` turns a pydantic error into the same (field, problem, fix) triples, with a fix
for unknown keys.

``loads_bounded`` parses JSON from outside (crawled APIs, CLI input lines) with a size and a nesting
limit: a 100,000-level document is a ``JsonLimitError``, not a RecursionError. ``valid_unicode``
replaces lone surrogates and NUL characters, which cannot be encoded, stored or sent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_EXPANDED_NODES = 200_000  # nodes of the document once every alias is expanded
MAX_DEPTH = 100


class ConfigFileError(ValueError):
    """One problem in one config file: ``FILE: FIELD: PROBLEM (fix: FIX)`` on one line."""

    def __init__(self, path: Path | str, field: str, problem: str, fix: str | None = None) -> None:
        self.path, self.field, self.problem, self.fix = str(path), field, _one_line(problem), fix
        text = f"{self.path}: {field}: {self.problem}"
        super().__init__(f"{text} (fix: {fix})" if fix else text)

    @property
    def detail(self) -> str:
        """The message without the file name (for callers that prefix it themselves)."""
        text = f"{self.field}: {self.problem}"
        return f"{text} (fix: {self.fix})" if self.fix else text


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def read_config_text(path: Path | str, *, max_bytes: int = MAX_CONFIG_BYTES, what: str = "config") -> str:
    """The text of a UTF-8 config file; ConfigFileError for a missing, huge or non-UTF-8 file."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigFileError(path, "file", f"no such {what} file", "check the path") from None
    except OSError as exc:
        raise ConfigFileError(path, "file", f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ConfigFileError(
            path, "file", f"larger than {max_bytes // 1024} KiB", "split it or remove what is not config"
        )
    return decode_config_bytes(data, path)


def decode_config_bytes(data: bytes, path: Path | str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        guess = _guess_encoding(data)
        looks = f" (it looks like {guess})" if guess else ""
        source = guess.upper() if guess else "THE-ENCODING"
        raise ConfigFileError(
            path,
            "file",
            f"not UTF-8{looks}: byte {exc.start} cannot be read",
            f"save it as UTF-8, e.g. iconv -f {source} -t UTF-8 {Path(path).name} > {Path(path).name}.utf8",
        ) from None


def _guess_encoding(data: bytes) -> str | None:
    for encoding in ("gb18030", "big5"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return "gbk" if encoding == "gb18030" and _is_gbk(data) else encoding
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:65536]).best()
    except Exception:  # noqa: BLE001 - only a hint for the message
        return None
    return best.encoding if best is not None else None


def _is_gbk(data: bytes) -> bool:
    try:
        data.decode("gbk")
    except UnicodeDecodeError:
        return False
    return True


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (aliases are bounded before construction, see load_yaml)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                continue  # SafeLoader reports unhashable keys itself
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1, first)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


def _check_expansion(root: Node, path: Path | str) -> None:
    """Count the document's nodes as if every alias were expanded (memoised, so cheap even for a bomb);
    refuse cycles, documents that expand past MAX_EXPANDED_NODES and nesting deeper than MAX_DEPTH."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    # iterative post-order walk: (node, depth, children pushed?)
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        key = id(node)
        if isinstance(node, ScalarNode):
            sizes[key] = 1
            continue
        children = _children(node)
        if expanded:
            active.discard(key)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_EXPANDED_NODES:
                raise ConfigFileError(
                    path,
                    f"line {node.start_mark.line + 1}",
                    f"aliases expand to more than {MAX_EXPANDED_NODES} values (an alias bomb?)",
                    "write the values out instead of nesting aliases",
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in active:
            raise ConfigFileError(
                path,
                f"line {node.start_mark.line + 1}",
                "an alias refers to the collection that contains it",
                "remove the self-referencing alias (e.g. `name: &a [*a]`)",
            )
        if depth > MAX_DEPTH:
            raise ConfigFileError(
                path,
                f"line {node.start_mark.line + 1}",
                f"nested deeper than {MAX_DEPTH} levels",
                "flatten the structure",
            )
        active.add(key)
        stack.append((node, depth, True))
        for child in children:
            if id(child) in active:
                raise ConfigFileError(
                    path,
                    f"line {child.start_mark.line + 1}",
                    "an alias refers to the collection that contains it",
                    "remove the self-referencing alias (e.g. `name: &a [*a]`)",
                )
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(text: str, path: Path | str = "<config>") -> Any:
    """Parse one YAML document with the limits above; ConfigFileError naming the line otherwise."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigFileError(path, "file", f"larger than {MAX_CONFIG_BYTES // 1024} KiB")
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_expansion(root, path)
        return loader.construct_document(root)
    except _DuplicateKey as dup:
        raise ConfigFileError(
            path,
            f"line {dup.line}: {dup.key}",
            f"key {dup.key!r} given twice in one mapping (first at line {dup.first})",
            "keep one of them",
        ) from None
    except RecursionError:
        raise ConfigFileError(
            path, "file", f"nested deeper than {MAX_DEPTH} levels", "flatten the structure"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "yaml"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigFileError(
            path, where, f"not valid YAML: {problem}", "fix the syntax at that line"
        ) from None
    finally:
        loader.dispose()


def load_yaml_file(path: Path | str, *, max_bytes: int = MAX_CONFIG_BYTES, what: str = "config") -> Any:
    """Read and parse one config file with every limit above."""
    return load_yaml(read_config_text(path, max_bytes=max_bytes, what=what), path)


def validation_problems(exc: ValidationError) -> list[tuple[str, str, str | None]]:
    """(field, problem, fix) per pydantic error, with a fix for the common ones."""
    out: list[tuple[str, str, str | None]] = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "file"
        kind = err["type"]
        message = err["msg"]
        fix: str | None = None
        if kind == "extra_forbidden":
            message = f"{message}: unknown key"
            fix = "remove it or correct its spelling"
        elif kind == "missing":
            fix = "add it"
        out.append((field, _one_line(message), fix))
    return out


def describe_validation_error(exc: ValidationError) -> str:
    """``field: problem (fix: …); field: problem`` on one line."""
    return "; ".join(f"{f}: {p}" + (f" (fix: {x})" if x else "") for f, p, x in validation_problems(exc))


# -- JSON from outside ----------------------------------------------------------------------------

MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_JSON_DEPTH = 64


class JsonLimitError(ValueError):
    """The JSON text is too large, too deeply nested, or not JSON; the message says which."""


def loads_bounded(
    text: str | bytes, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """``json.loads`` with a size and a depth limit (JsonLimitError for either, and for bad JSON)."""
    if len(text) > max_bytes:
        raise JsonLimitError(f"JSON larger than {max_bytes // 1024} KiB")
    try:
        data = json.loads(text)
    except RecursionError:
        raise JsonLimitError(f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError and undecodable bytes
        raise JsonLimitError(f"not JSON: {exc}") from None
    if _depth_exceeds(data, max_depth):
        raise JsonLimitError(f"JSON nested deeper than {max_depth} levels")
    return data


def _depth_exceeds(data: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


# -- text -----------------------------------------------------------------------------------------

_INVALID_TEXT = re.compile("[\ud800-\udfff\x00]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str, *, nul: bool = True) -> tuple[str, int]:
    """The text with lone surrogates (``\\ud800`` from JSON) and, unless ``nul=False``, NUL replaced by
    U+FFFD, and how many were replaced."""
    return (_INVALID_TEXT if nul else _SURROGATES).subn("\ufffd", text)


def valid_unicode_deep(value: Any, *, nul: bool = True) -> tuple[Any, int]:
    """``valid_unicode`` over every string (keys too) in nested dicts and lists."""
    if isinstance(value, str):
        return valid_unicode(value, nul=nul)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        total = 0
        for key, item in value.items():
            new_key, a = valid_unicode_deep(key, nul=nul)
            new_item, b = valid_unicode_deep(item, nul=nul)
            out[new_key] = new_item
            total += a + b
        return out, total
    if isinstance(value, list):
        items = [valid_unicode_deep(v, nul=nul) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0
