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

Usage: docs_links_check.py [FILE.md...]   (default: README.md and docs/*.md,
after a self-test on files made for it, so that a checker that finds nothing
fails). Exit status 0 when every link resolves, 1 naming FILE:LINE and each bad
link (or the self-test's miss), 2 on a usage error (a FILE that cannot be
read). Standard library only.
"""
import glob
import os
import re
import sys
import tempfile

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


def check(files):
    """[(file as shown, line, target, why)] for each bad link of the files."""
    cache, bad = {}, []

    def anchors_of(path):
        if path not in cache:
            cache[path] = scan(path)[1]
        return cache[path]

    for md in files:
        prose, _ = scan(md)
        here = os.path.dirname(os.path.abspath(md))
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
                    bad.append((shown(md), no, target, why))
    return bad


SELF_A = """# Top
## Dup
## Dup
### `Code` & stuff, 1.5!
```
## Fenced
[in a fence](nope.md)
```
Setext *x*
---
[a](#top) [b](#dup-1) [c](#code--stuff-15) [d](sub/b.md#b-head) [e](sub/) [f](https://x/y)
`[in a span](nope.md)` [g](#setext-x) ![h](sub/b.md)
[i](#dup-2) [j](#fenced) [k](sub/c.md) [l](sub/b.md#nope)
[ref]: sub/none.md
"""
SELF_B = """# B head
[up](../a.md#top) [m](../a.md#b-head)
"""


def self_test():
    """None when the checker finds exactly the bad links of a file made for it, else why not."""
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "sub"))
        for name, text in (("a.md", SELF_A), ("sub/b.md", SELF_B)):
            with open(os.path.join(d, name), "w", encoding="utf-8") as f:
                f.write(text)
        a, b = os.path.join(d, "a.md"), os.path.join(d, "sub", "b.md")
        got = sorted((os.path.basename(f), no, t) for f, no, t, _ in check([a, b]))
    want = sorted([("a.md", 13, "#dup-2"), ("a.md", 13, "#fenced"), ("a.md", 13, "sub/c.md"),
                   ("a.md", 13, "sub/b.md#nope"), ("a.md", 14, "sub/none.md"),
                   ("b.md", 2, "../a.md#b-head")])
    return None if got == want else "found %s, expected %s" % (got, want)


def main(argv):
    files = argv[1:]
    if not files:
        why = self_test()
        if why:
            print("docs_links_check: self-test: %s" % why)
            return 1
        files = [os.path.join(ROOT, "README.md")] + \
            sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    for md in files:
        if not os.path.isfile(md) or not os.access(md, os.R_OK):
            print("docs_links_check: %s: not a readable file" % md, file=sys.stderr)
            return 2
    bad = check(files)
    for name, no, target, why in bad:
        print("%s:%d: bad link (%s): %s" % (name, no, target, why))
    if bad:
        print("docs_links_check: %d bad link%s" % (len(bad), "" if len(bad) == 1 else "s"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
