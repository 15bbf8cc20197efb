"""Elements of a web page that a reader never sees, removed before its text is read: a page
can hide text from people (CSS `display:none`, white on white, off-screen, zero size) that a
model would read as part of the document. Inline styles and simple rules of the page's own
<style> blocks (tag, .class, #id and their compounds) are understood; scripts are not run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import lxml.html

# The page's background when nothing sets one.
_PAGE_BACKGROUND = (255, 255, 255)
_NAMED = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "snow": (255, 250, 250),
    "ivory": (255, 255, 240),
    "whitesmoke": (245, 245, 245),
    "red": (255, 0, 0),
    "blue": (0, 0, 255),
    "green": (0, 128, 0),
    "yellow": (255, 255, 0),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
}
# Colours closer than this (largest channel difference) cannot be told apart by a reader.
_INDISTINCT = 8
_DECLARATION = re.compile(r"([a-z-]+)\s*:\s*([^;]+)")
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_SIMPLE_SELECTOR = re.compile(r"([a-z][a-z0-9]*|\*)?((?:[.#][\w-]+)*)", re.IGNORECASE)
_ZERO = re.compile(r"^-?0*\.?0+(?:px|pt|em|rem|%|vh|vw)?$")
_FAR_OFF = re.compile(r"^-\d{3,}(?:\.\d+)?(?:px|pt|em|rem)?$|^-\d{2,}(?:\.\d+)?(?:em|rem|vw|vh|%)$")
_HEX = re.compile(r"^#([0-9a-f]{3,8})$")
_RGB = re.compile(r"^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$")
_HIDDEN_VALUES = {
    "display": {"none"},
    "visibility": {"hidden", "collapse"},
    "content-visibility": {"hidden"},
}


# The properties that can hide an element or set the colours compared; a rule of others only.
_RELEVANT = frozenset(
    {
        *_HIDDEN_VALUES,
        *"font-size opacity clip clip-path transform position left top right".split(),
        *"text-indent overflow width height color background background-color".split(),
        "background-image",
    }
)


@dataclass(frozen=True)
class _Rule:
    tag: str | None
    ids: frozenset[str]
    classes: frozenset[str]
    style: dict[str, str]

    def matches(self, element: lxml.html.HtmlElement) -> bool:
        if self.tag and self.tag != element.tag:
            return False
        if self.ids and element.get("id") not in self.ids:
            return False
        return self.classes <= set((element.get("class") or "").split())


class _Rules:
    """The page's rules indexed by what an element must have (an id, a class, a tag), so
    that an element is checked against the few rules that could match it: a hostile page
    has thousands of rules and elements."""

    def __init__(self, rules: list[_Rule]) -> None:
        self._any: list[tuple[int, _Rule]] = []
        self._by: dict[str, list[tuple[int, _Rule]]] = {}
        for order, rule in enumerate(rules):
            key = (
                f"#{min(rule.ids)}"
                if rule.ids
                else f".{min(rule.classes)}"
                if rule.classes
                else rule.tag
            )
            if key is None:
                self._any.append((order, rule))
            else:
                self._by.setdefault(key, []).append((order, rule))

    def style(self, element: lxml.html.HtmlElement) -> dict[str, str]:
        """The declarations of the rules that match, later rules winning."""
        if not self._by and not self._any:
            return {}
        keys = [str(element.tag), f"#{element.get('id')}"]
        keys.extend(f".{name}" for name in (element.get("class") or "").split())
        candidates = [*self._any, *(r for key in keys for r in self._by.get(key, ()))]
        style: dict[str, str] = {}
        for _, rule in sorted(candidates, key=lambda found: found[0]):
            if rule.matches(element):
                style.update(rule.style)
        return style


_Colour = tuple[int, int, int]


def drop_hidden(tree: lxml.html.HtmlElement) -> None:
    """Remove, in place, every element (with its text) that a reader of the page cannot see,
    and the text of elements whose colour is their background's (their children may set a
    colour of their own)."""
    rules = _Rules(list(_style_rules(tree)))
    hidden: list[lxml.html.HtmlElement] = []
    # Depth first without recursion: a hostile page nests elements thousands deep. Each
    # element comes with the colour and background it inherits; the background is None where
    # it is a picture, on which text may be of any colour.
    stack: list[tuple[lxml.html.HtmlElement, _Colour | None, _Colour | None]] = [
        (tree, None, _PAGE_BACKGROUND)
    ]
    while stack:
        element, colour, background = stack.pop()
        if not isinstance(element.tag, str):
            continue
        style = rules.style(element)
        style.update(_declarations(element.get("style") or ""))
        if _is_hidden(element, style):
            hidden.append(element)
            continue
        own = _colour(style.get("background-color") or _first_colour(style.get("background", "")))
        if own is not None and own[3]:
            background = own[:3]
        if "url(" in style.get("background", "") + style.get("background-image", ""):
            background = None
        written = _colour(style.get("color", ""))
        if written is not None and not written[3]:
            hidden.append(element)
            continue
        colour = written[:3] if written is not None else colour
        if _indistinct(colour, background):
            element.text = None
            for child in element:
                child.tail = None
        stack.extend((child, colour, background) for child in element)
    for element in hidden:
        element.drop_tree()


def _indistinct(colour: _Colour | None, background: _Colour | None) -> bool:
    if colour is None or background is None:
        return False
    return max(abs(a - b) for a, b in zip(colour, background, strict=True)) < _INDISTINCT


def _is_hidden(element: lxml.html.HtmlElement, style: dict[str, str]) -> bool:
    if element.get("hidden") is not None or element.get("aria-hidden", "").lower() == "true":
        return True
    if any(style.get(name) in values for name, values in _HIDDEN_VALUES.items()):
        return True
    if _ZERO.match(style.get("font-size", "")) or _ZERO.match(style.get("opacity", "x")):
        return True
    if style.get("clip") in {"rect(0 0 0 0)", "rect(0,0,0,0)", "rect(0px 0px 0px 0px)"}:
        return True
    if style.get("clip-path", "").startswith("inset(50%"):
        return True
    if "scale(0)" in style.get("transform", ""):
        return True
    positioned = style.get("position") in {"absolute", "fixed"}
    if positioned and any(_FAR_OFF.match(style.get(side, "")) for side in ("left", "top", "right")):
        return True
    if _FAR_OFF.match(style.get("text-indent", "")):
        return True
    return style.get("overflow") == "hidden" and bool(
        _ZERO.match(style.get("width", "x")) or _ZERO.match(style.get("height", "x"))
    )


def _style_rules(tree: lxml.html.HtmlElement) -> Iterator[_Rule]:
    for block in tree.iter("style"):
        css = _COMMENT.sub("", block.text_content())
        for selectors, body in _RULE.findall(css):
            style = {k: v for k, v in _declarations(body).items() if k in _RELEVANT}
            if not style:
                continue
            for selector in selectors.split(","):
                selector = selector.strip()
                found = _SIMPLE_SELECTOR.fullmatch(selector)
                # Descendant, child and pseudo-class selectors are not followed.
                if not selector or found is None or selector.startswith("@"):
                    continue
                parts = re.findall(r"[.#][\w-]+", found.group(2) or "")
                tag = found.group(1)
                yield _Rule(
                    None if tag in (None, "*") else tag.lower(),
                    frozenset(p[1:] for p in parts if p[0] == "#"),
                    frozenset(p[1:] for p in parts if p[0] == "."),
                    style,
                )


def _declarations(css: str) -> dict[str, str]:
    return {
        name.lower(): " ".join(value.lower().replace("!important", "").split())
        for name, value in _DECLARATION.findall(css)
    }


def _first_colour(background: str) -> str:
    words: list[str] = re.findall(r"#[0-9a-f]+|rgba?\([^)]*\)|[a-z]+", background)
    return next((word for word in words if _colour(word) is not None), "")


def _colour(value: str) -> tuple[int, int, int, bool] | None:
    """(r, g, b, visible) of a CSS colour, or None for one not understood."""
    value = value.strip()
    if value == "transparent":
        return (0, 0, 0, False)
    if value in _NAMED:
        return (*_NAMED[value], True)
    hexed = _HEX.match(value)
    if hexed:
        digits = hexed.group(1)
        if len(digits) in (3, 4):
            digits = "".join(d * 2 for d in digits)
        if len(digits) not in (6, 8):
            return None
        alpha = int(digits[6:8], 16) if len(digits) == 8 else 255
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), alpha > 0)
    rgb = _RGB.match(value)
    if rgb:
        r, g, b = (min(255, int(float(rgb.group(i)))) for i in (1, 2, 3))
        opacity: str | None = rgb.group(4)
        return (r, g, b, opacity is None or float(opacity.rstrip("%")) > 0)
    return None
