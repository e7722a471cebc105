#!/usr/bin/env python3
"""docs_links_check.py - every relative link of README.md and docs/*.md resolves.

For each Markdown link or image `[text](target)` (and reference definition
`[name]: target`) outside code blocks and code spans, whose target has no
scheme (http:, mailto:, ...): the file or folder it names must exist, relative
to the linking file, and its `#anchor`, if any, must be the GitHub slug of a
heading of the .md file it points to (the linking file for `#anchor` alone).
A slug is the heading's text as rendered (link syntax and code ticks gone),
lowercased, with everything but letters, digits, `_`, `-` and spaces dropped
and each space made a `-`; the second heading of the same slug gets `-1`, the
third `-2`. Moving text between README.md and docs/ changes what its relative
links mean, which this catches.

Usage: docs_links_check.py [FILE.md...]   (default: README.md and docs/*.md)
Exit status 0 when every link resolves, 1 naming FILE:LINE and each bad link,
2 on a usage error (a FILE that cannot be read). Standard library only.
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target "title") or ![alt](target); the target has no blank or ')'.
INLINE = re.compile(r"\]\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFDEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$")
HTML_ID = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def slug(text):
    """GitHub's anchor for a heading's text."""
    text = MD_LINK.sub(r"\1", text)
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def scan(path):
    """(lines outside code blocks as (number, text), anchors) of a Markdown file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    prose, anchors, seen = [], set(), {}
    fence = None
    prev = None  # the previous prose line, for setext headings

    def add(heading):
        s = slug(heading.strip())
        n = seen.get(s, 0)
        seen[s] = n + 1
        anchors.add(s if n == 0 else "%s-%d" % (s, n))

    for no, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip()[len(m.group(1)):].strip():
                fence = None
            continue
        if m:
            fence = m.group(1)
            prev = None
            continue
        h = ATX.match(line)
        if h:
            add(h.group(2) or "")
        elif SETEXT.match(line) and prev and prev.strip() and not ATX.match(prev):
            add(prev)
        for a in HTML_ID.findall(line):
            anchors.add(a)
        prose.append((no, line))
        prev = line
    return prose, anchors


def shown(path):
    """A path as a message names it: from the repository root when inside it."""
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    return path if rel.startswith("..") else rel


def main(argv):
    files = argv[1:] or [os.path.join(ROOT, "README.md")] + \
        sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    cache = {}

    def anchors_of(path):
        if path not in cache:
            cache[path] = scan(path)[1]
        return cache[path]

    bad = 0
    for md in files:
        try:
            prose, _ = scan(md)
        except OSError as e:
            print("docs_links_check: %s: %s" % (md, e.strerror), file=sys.stderr)
            return 2
        here = os.path.dirname(os.path.abspath(md))
        name = shown(md)
        for no, line in prose:
            text = CODE_SPAN.sub("", line)
            targets = INLINE.findall(text)
            m = REFDEF.match(text)
            if m:
                targets.append(m.group(1))
            for target in targets:
                if not target or SCHEME.match(target) or target.startswith("/"):
                    continue
                path, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(here, path)) if path else \
                    os.path.abspath(md)
                why = None
                if not os.path.exists(dest):
                    why = "no such file"
                elif anchor and dest.endswith(".md") and os.path.isfile(dest) and \
                        anchor not in anchors_of(dest):
                    why = "no heading with anchor #%s in %s" % (anchor, shown(dest))
                if why:
                    print("%s:%d: bad link (%s): %s" % (name, no, target, why))
                    bad += 1
    if bad:
        print("docs_links_check: %d bad link%s" % (bad, "" if bad == 1 else "s"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
