#!/usr/bin/env python3
# tests/browser/check-status-page.py DOM.html SHOT.png — checks what headless Chromium made of
# the fixture's status page (tests/daemon/status-fixture.c): the DOM it built, not the HTML we
# sent, and the pixels it painted.
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.texts = [], []

    def text(self):
        return "".join(t if isinstance(t, str) else t.text() for t in self.texts)

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def find(self, tag=None, cls=None, **attrs):
        """Every descendant with this tag, class and attributes, in document order."""
        out = []
        for c in self.children:
            if ((tag is None or c.tag == tag) and (cls is None or cls in c.classes())
                    and all(c.attrs.get(k) == v for k, v in attrs.items())):
                out.append(c)
            out.extend(c.find(tag, cls, **attrs))
        return out


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#document", [], None)

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        self.cur.texts.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        self.cur.texts.append(n)

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.texts.append(data)


DATASETS = [
    "tank/home",
    "tank/data with space",
    "tank/<img src=x onerror=\"document.title='pwned'\">",
    "tank/<script>document.title='pwned'</script>",
    "tank/\u00fcn\u00efc\u00f8d\u00e9/\u65e5\u672c",
    "tank/\"quoted\" & 'apos'",
]
EVIL = 'evil "job" <b>bold</b>'
# runs per charted job, and offsite's results (status-fixture.c's add_history, 12 runs)
BARS = {"offsite": 12, EVIL: 5}
OFFSITE_RESULTS = {"r-ok": 8, "r-partial": 2, "r-failed": 1, "r-cancelled": 1}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def rows(doc, table_id):
    t = doc.find("table", id=table_id)
    check(len(t) == 1, f"one table#{table_id}")
    if not t:
        return []
    return [[td.text() for td in tr.find("td")] for tr in t[0].find("tbody")[0].find("tr")]


def check_dom(doc):
    title = doc.find("title")
    check(title and title[0].text() == "zferry status",
          f"page title is {title[0].text() if title else None!r}: a script ran?")
    for tag in ("script", "img", "b", "iframe", "object"):
        check(not doc.find(tag), f"a <{tag}> element exists: a name was taken as markup")
    jobs = rows(doc, "jobs")
    check([r[0] for r in jobs] == ["offsite", EVIL, "never-ran"], f"jobs: {[r[0] for r in jobs]}")
    check(any("<script>document.title='pwned'</script> failed" in c for r in jobs for c in r),
          "the evil job's last error is shown as text")
    ds = rows(doc, "datasets")
    check([r[1] for r in ds] == DATASETS + ["tank/home"], f"datasets: {[r[1] for r in ds]}")
    check(any("cannot receive: <b>dataset is busy</b>" in c for r in ds for c in r),
          "a dataset's last error is shown as text")
    check(doc.find("progress"), "the running transfer has a progress bar")


def check_charts(doc):
    charts = doc.find("div", cls="chart")
    names = [c.find("h3")[0].text() for c in charts]
    check(names == list(BARS), f"charts for {names}, want {list(BARS)}")
    for c, name in zip(charts, names):
        svgs = c.find("svg")
        check([s.attrs.get("data-kind") for s in svgs] == ["bytes", "seconds"], f"{name}: svgs")
        for s in svgs:
            bars = s.find("rect", cls="bar")
            check(len(bars) == BARS.get(name), f"{name} {s.attrs.get('data-kind')}: {len(bars)} bars")
            check(all(b.find("title") and " \u00b7 " in b.find("title")[0].text() for b in bars),
                  f"{name}: every bar has a tooltip")
            check(len(s.find("text")) >= 5, f"{name}: axis labels")
            if name == "offsite":
                got = {k: sum(k in b.classes() for b in bars) for k in OFFSITE_RESULTS}
                check(got == OFFSITE_RESULTS, f"offsite bar colours {got}")
    return sum(len(c.find("rect", cls="bar")) for c in charts)


def near(p, rgb, tol=12):
    return all(abs(a - b) <= tol for a, b in zip(p, rgb))


def check_png(path):
    from PIL import Image
    img = Image.open(path).convert("RGB")
    w, h = img.size
    check(w >= 1000 and h >= 1000, f"screenshot {w}x{h}")
    colours = img.getcolors(maxcolors=1 << 20) or []
    check(len(colours) > 50, f"screenshot has {len(colours)} colours: blank?")
    want = {"header blue": (0x1f, 0x3a, 0x5f), "ok green": (0x2e, 0x9e, 0x44),
            "failed red": (0xd9, 0x2d, 0x20)}
    for what, rgb in want.items():
        n = sum(c for c, p in colours if near(p, rgb))
        check(n > 200, f"screenshot: {n} pixels of {what}")
    return w, h, len(colours)


def main():
    t = Tree()
    t.feed(open(sys.argv[1], encoding="utf-8").read())
    check_dom(t.root)
    nbars = check_charts(t.root)
    w, h, ncol = check_png(sys.argv[2])
    for f in failures:
        print("status page: FAILED:", f)
    if failures:
        sys.exit(1)
    print(f"status page: DOM and {nbars} bars as expected; screenshot {w}x{h}, {ncol} colours")


main()
