"""Parse pgfleet's report formats back and compare them with the JSON report of the same run.

    report_formats.py junit      REPORT.xml  JSON
    report_formats.py prometheus REPORT.prom JSON
    report_formats.py markdown   REPORT.md   JSON
    report_formats.py html-raw   REPORT.html            no external resource, well-formed enough
    report_formats.py html-probe REPORT.html OUT.html   copy with a probe script appended
    report_formats.py html-dom   DOM.html    JSON       the probe's findings in Chromium's DOM

Each check prints one line per fact it verified and exits 1 with the reason on the first
mismatch. Only the standard library: xml.etree for JUnit, a parser written here from the
exposition format's description for Prometheus.
"""
import calendar
import html
import json
import re
import sys
import time
import xml.etree.ElementTree as ET

OUTCOMES = ["applied", "unchanged", "refused", "failed", "interrupted", "skipped"]


def statuses(d):
    """Every status the report counts (the JSON's counts, in order), not_started aside."""
    return [k for k in d["counts"] if k not in ("targets", "not_started")]


def check(cond, what):
    if not cond:
        print("MISMATCH: " + what)
        sys.exit(1)
    print("ok: " + what)


def ok(d, t):
    """In sync when the run ended: apply's outcome, else the status."""
    if t["status"] is None:
        return False
    if d["command"] == "apply":
        return t["outcome"] in ("applied", "unchanged")
    return t["status"] == "in_sync"


def known(d, t):
    """Whether the target's ledger was read."""
    if t["status"] in (None, "unreachable"):
        return False
    return not (d["command"] == "apply" and t["status"] == "locked")


def pending_after(t):
    return len(t["pending"]) - len(t["applied"])


def detail(t):
    if t["error"]:
        return t["error"]["message"]
    if t["problems"]:
        return t["problems"][0]["message"]
    return ""


# ---- JUnit -------------------------------------------------------------------------------------

def junit(path, d):
    root = ET.parse(path).getroot()
    check(root.tag == "testsuites", "junit: root element testsuites")
    suites = root.findall("testsuite")
    check(len(suites) == 1, "junit: exactly one testsuite")
    s = suites[0]
    cmd = d["command"]
    targets = d["targets"]
    check(s.get("name") == "pgfleet-" + cmd, "junit: suite name pgfleet-" + cmd)
    check(s.get("timestamp") == d["started_at"].rstrip("Z"), "junit: timestamp = started_at")
    check(abs(float(s.get("time")) - d["duration_ms"] / 1000) < 0.0005, "junit: suite time")
    errors = [t for t in targets if t["status"] == "unreachable"]
    skipped = [t for t in targets if t["status"] is None]
    failures = [t for t in targets if t["status"] not in (None, "unreachable") and not ok(d, t)]
    for el in (root, s):
        got = [int(el.get(k)) for k in ("tests", "failures", "errors", "skipped")]
        check(got == [len(targets), len(failures), len(errors), len(skipped)],
              "junit: %s counts tests/failures/errors/skipped = %s" % (el.tag, got))
    cases = s.findall("testcase")
    check([c.get("name") for c in cases] == [t["name"] for t in targets],
          "junit: one testcase per target, in order, names intact")
    check({c.get("classname") for c in cases} == {"pgfleet." + cmd},
          "junit: classname pgfleet." + cmd)
    check(len(s.findall("testcase/failure")) == len(failures) and
          len(s.findall("testcase/error")) == len(errors) and
          len(s.findall("testcase/skipped")) == len(skipped),
          "junit: the counts match the child elements")
    props = {p.get("name"): p.get("value") for p in s.findall("properties/property")}
    check(props["codebase.migrations"] == str(d["codebase"]["migrations"]) and
          props["exit_code"] == str(d["exit_code"]), "junit: properties")
    for c, t in zip(cases, targets):
        check(abs(float(c.get("time")) - t["timings"]["total_ms"] / 1000) < 0.0005 or
              t["status"] is None, "junit: %s: time" % t["name"])
        kids = list(c)
        if ok(d, t):
            check(kids == [], "junit: %s passes" % t["name"])
            continue
        if t["status"] is None:
            check(kids[0].tag == "skipped", "junit: %s skipped" % t["name"])
            continue
        k = kids[0]
        check(k.tag == ("error" if t["status"] == "unreachable" else "failure"),
              "junit: %s: <%s>" % (t["name"], k.tag))
        check(k.get("type") == t["status"], "junit: %s: type=%s" % (t["name"], t["status"]))
        want = detail(t) or ("%s: %d pending migration%s" % (
            t["status"], pending_after(t), "" if pending_after(t) == 1 else "s")
            if pending_after(t) else t["status"])
        check(k.get("message") == want, "junit: %s: message" % t["name"])
        body = k.text.splitlines()
        check(body[0] == "status: " + t["status"], "junit: %s: body starts with the status"
              % t["name"])
        for p in t["problems"]:
            check("%s: %s" % (p["kind"], p["message"]) in body,
                  "junit: %s: body lists problem %s" % (t["name"], p["kind"]))
        if t["pending"]:
            check("pending: " + " ".join(t["pending"]) in body,
                  "junit: %s: body lists the pending migrations" % t["name"])
    print("failing: " + " ".join(sorted(c.get("name") for c in cases if list(c))))


# ---- Prometheus --------------------------------------------------------------------------------

METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"


def parse_labels(s, lineno):
    """The text between { and }: name="value" pairs, values with \\\\ \\" \\n escapes."""
    labels, i = {}, 0
    while i < len(s):
        m = re.compile(LABEL + '="').match(s, i)
        if not m:
            raise ValueError("line %d: bad label at %r" % (lineno, s[i:]))
        name = m.group(0)[:-2]
        i = m.end()
        value = []
        while True:
            if i >= len(s):
                raise ValueError("line %d: unterminated label value" % lineno)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1]
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise ValueError("line %d: label %s twice" % (lineno, name))
        labels[name] = "".join(value)
        if i < len(s):
            if s[i] != ",":
                raise ValueError("line %d: expected , at %r" % (lineno, s[i:]))
            i += 1
    return labels


def parse_exposition(text):
    """{(metric, frozenset(labels)): value}, and {metric: type}; raises on a malformed line."""
    types, helps, samples, seen_families = {}, {}, {}, []
    for lineno, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            if name in helps:
                raise ValueError("line %d: second HELP for %s" % (lineno, name))
            helps[name] = help_text
            continue
        if line.startswith("# TYPE "):
            name, typ = line[7:].split(" ")
            if name in types or typ not in ("counter", "gauge", "histogram", "summary",
                                             "untyped"):
                raise ValueError("line %d: bad TYPE" % lineno)
            types[name] = typ
            seen_families.append(name)
            continue
        if line.startswith("#"):
            continue
        m = re.fullmatch("(" + METRIC + r")(?:\{(.*)\})? (\S+)", line)
        if not m:
            raise ValueError("line %d: not a sample: %r" % (lineno, line))
        name, labels, value = m.group(1), parse_labels(m.group(2) or "", lineno), m.group(3)
        if not seen_families or seen_families[-1] != name:
            raise ValueError("line %d: %s is not in the family declared last" % (lineno, name))
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise ValueError("line %d: duplicate series" % lineno)
        samples[key] = float(value)
    if not text.endswith("\n"):
        raise ValueError("the last line has no newline")
    return samples, types, helps


def prometheus(path, d):
    text = open(path, encoding="utf-8").read()
    samples, types, helps = parse_exposition(text)
    check(True, "prometheus: %d samples parse back" % len(samples))
    check(set(types) == set(helps) and set(types.values()) == {"gauge"},
          "prometheus: every family has HELP and TYPE gauge")
    cmd = d["command"]

    def get(name, **labels):
        labels["command"] = cmd
        return samples.get((name, frozenset(labels.items())))

    def series(name):
        return [dict(k[1]) for k in samples if k[0] == name]

    check(get("pgfleet_run_duration_seconds") == round(d["duration_ms"] / 1000, 3),
          "prometheus: run duration")
    check(get("pgfleet_run_exit_code") == d["exit_code"], "prometheus: exit code")
    epoch = calendar.timegm(time.strptime(d["started_at"], "%Y-%m-%dT%H:%M:%SZ"))
    check(get("pgfleet_run_timestamp_seconds") == epoch, "prometheus: run timestamp")
    check(get("pgfleet_codebase_migrations") == d["codebase"]["migrations"],
          "prometheus: codebase migrations")
    for s in statuses(d) + ["not_started"]:
        check(get("pgfleet_targets", status=s) == d["counts"][s],
              "prometheus: pgfleet_targets{status=%s} = %d" % (s, d["counts"][s]))
    targets = d["targets"]
    names = [t["name"] for t in targets]
    check(sorted({l["target"] for l in series("pgfleet_target_status")}) == sorted(names),
          "prometheus: target label values parse back to the names")
    for t in targets:
        n = t["name"]
        status = t["status"] or "not_started"
        hot = {s: get("pgfleet_target_status", target=n, status=s)
               for s in statuses(d) + ["not_started"]}
        check(hot == {s: (1.0 if s == status else 0.0) for s in hot},
              "prometheus: %s: status one-hot on %s" % (n, status))
        check(get("pgfleet_target_in_sync", target=n) == (1 if ok(d, t) else 0),
              "prometheus: %s: in_sync" % n)
        want = pending_after(t) if known(d, t) else None
        check(get("pgfleet_target_pending_migrations", target=n) == want,
              "prometheus: %s: pending = %s" % (n, want))
        if t["status"] is not None:
            check(get("pgfleet_target_duration_seconds", target=n) ==
                  round(t["timings"]["total_ms"] / 1000, 3), "prometheus: %s: duration" % n)
            check(get("pgfleet_target_last_run_timestamp_seconds", target=n) == epoch,
                  "prometheus: %s: last run timestamp" % n)
        if cmd == "apply":
            check(get("pgfleet_target_applied_migrations", target=n) == len(t["applied"]),
                  "prometheus: %s: applied" % n)
            check([o for o in OUTCOMES
                   if get("pgfleet_target_outcome", target=n, outcome=o) == 1] == [t["outcome"]],
                  "prometheus: %s: outcome one-hot on %s" % (n, t["outcome"]))


# ---- Markdown ----------------------------------------------------------------------------------

def cells(row):
    """The cells of a table row, split on pipes that are not escaped, escapes undone."""
    parts = re.split(r"(?<!\\)\|", row.strip())
    assert parts[0] == "" and parts[-1] == "", row
    return [re.sub(r"\\(.)", r"\1", p.strip()).strip("`") for p in parts[1:-1]]


def markdown(path, d):
    lines = open(path, encoding="utf-8").read().splitlines()
    cmd = d["command"]
    check(lines[0].startswith("### pgfleet %s: " % cmd), "markdown: heading " + lines[0])
    n_ok = sum(ok(d, t) for t in d["targets"])
    n = len(d["targets"])
    check(lines[2].startswith("**%d of %d targets in sync**" % (n_ok, n)),
          "markdown: %d of %d in sync" % (n_ok, n))
    rows = [cells(l) for l in lines if l.startswith("| ") and not l.startswith("| ---")]
    counts = {r[0]: int(r[1]) for r in rows if len(r) == 2 and r[0] != "status" and
              r[0] != "outcome"}
    want = {s: d["counts"][s] for s in statuses(d) + ["not_started"] if d["counts"][s]}
    if cmd == "apply":
        want.update({o: v for o, v in d["outcomes"].items() if v})
    check(counts == want, "markdown: the count tables say %s" % counts)
    header = ["target", "status", "pending"] + (["outcome"] if cmd == "apply" else []) + ["detail"]
    table = [r for r in rows if len(r) == len(header)]
    check(table[0] == header, "markdown: the targets table's header")
    listed = [t for t in d["targets"] if n <= 20 or not ok(d, t)][:50]
    check(len(table) - 1 == len(listed), "markdown: %d target rows" % len(listed))
    for r, t in zip(table[1:], listed):
        want_row = [t["name"], t["status"] or "not_started",
                    str(pending_after(t)) if known(d, t) else "-"]
        if cmd == "apply":
            want_row.append(t["outcome"])
        check(r[:len(want_row)] == want_row, "markdown: row %s" % want_row)
        det = detail(t).replace("\n", " ")
        if det:
            check(r[-1].startswith(det), "markdown: %s: detail" % t["name"])
        elif known(d, t) and pending_after(t):
            left = t["pending"][len(t["applied"]):]
            check(r[-1].startswith("pending: " + ", ".join(left[:5])),
                  "markdown: %s: pending listed" % t["name"])


# ---- HTML --------------------------------------------------------------------------------------

PROBE = r"""<script>
(function () {
  var r = {}, t = document.getElementById('matrix'), states = {a:1, n:1, p:1, o:1, m:1, u:1};
  r.title = document.title;
  r.dataTargets = +t.dataset.targets; r.dataMigrations = +t.dataset.migrations;
  r.columns = [];
  var head = t.tHead.rows[0].cells;
  for (var j = 0; j < head.length; j++)
    if (head[j].className === 'mg') r.columns.push(head[j].textContent);
  r.sticky = getComputedStyle(head[0]).position;
  r.rows = []; r.cells = 0; r.rendered = 0; r.colors = {};
  var rows = t.tBodies[0].rows;
  for (var i = 0; i < rows.length; i++) {
    var row = rows[i], cs = '';
    for (var k = 0; k < row.cells.length; k++) {
      var c = row.cells[k];
      if (c.tagName !== 'TD' || !states[c.className]) continue;
      var b = c.getBoundingClientRect();
      r.cells++;
      if (b.width > 0 && b.height > 0) r.rendered++;
      cs += c.className;
      r.colors[c.className] = getComputedStyle(c).backgroundColor;
    }
    var x = row.querySelector('td.x');
    r.rows.push({target: row.dataset.target, status: row.dataset.status,
                 name: row.cells[0].textContent, cells: cs,
                 pending: row.querySelector('td.pn').textContent,
                 other: x ? x.textContent : ''});
  }
  r.counts = {};
  document.querySelectorAll('[id^=count-],[id^=outcome-]').forEach(function (e) {
    r.counts[e.id] = {data: +e.dataset.count, shown: e.querySelector('b').textContent,
                      visible: e.getBoundingClientRect().height > 0};
  });
  r.exit = document.getElementById('exit-code').textContent;
  r.head = document.getElementById('codebase-head').textContent;
  r.migrations = document.getElementById('codebase-migrations').textContent;
  r.resources = performance.getEntriesByType('resource').length;
  var first = t.querySelector('tbody td.a, tbody td.p, tbody td.u, tbody td.m, tbody td.o');
  if (first) {
    first.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
    r.tooltip = first.title;
  }
  document.getElementById('only-bad').checked = true;
  r.shownWhenFiltered = 0;
  for (var i = 0; i < rows.length; i++)
    if (rows[i].getBoundingClientRect().height > 0) r.shownWhenFiltered++;
  var p = document.createElement('pre');
  p.id = 'probe';
  p.textContent = JSON.stringify(r);
  document.body.appendChild(p);
})();
</script>
"""


def html_raw(path):
    text = open(path, encoding="utf-8").read()
    check(text.startswith("<!DOCTYPE html>"), "html: a doctype")
    for bad in ("<link", "src=", "@import", "url(", "http://", "https://"):
        check(bad not in text, "html: no external resource (%s)" % bad)
    check(text.count("<script>") == 1, "html: one inline script")


def html_probe(path, out):
    text = open(path, encoding="utf-8").read()
    open(out, "w", encoding="utf-8").write(text.replace("</body>", PROBE + "</body>"))


def cell_states(d, t, columns):
    if not known(d, t):
        return "u" * len(columns)
    modified = {p["migration"] for p in t["problems"] if p["kind"] == "modified"}
    ooo = {p["migration"] for p in t["problems"] if p["kind"] == "out_of_order"}
    out = ""
    for tag in columns:
        if tag in modified:
            out += "m"
        elif tag in t["applied"]:
            out += "n"
        elif tag in ooo:
            out += "o"
        elif tag in t["pending"]:
            out += "p"
        else:
            out += "a"
    return out


def html_dom(path, d):
    dom = open(path, encoding="utf-8").read()
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    check(m is not None, "html: the page ran in Chromium and the probe reported")
    r = json.loads(html.unescape(m.group(1)))
    targets = d["targets"]
    nm = d["codebase"]["migrations"]
    check(r["dataTargets"] == len(targets) and r["dataMigrations"] == nm,
          "html: matrix is %d targets x %d migrations" % (len(targets), nm))
    check(len(r["columns"]) == nm and (nm == 0 or r["columns"][-1] ==
                                       d["codebase"]["head"]["tag"]),
          "html: one column per migration, the last is the head")
    check(r["cells"] == len(targets) * nm, "html: %d cells = targets x migrations" % r["cells"])
    check(r["rendered"] == r["cells"], "html: every cell has a rendered box")
    check(r["sticky"] == "sticky", "html: the header row is sticky")
    check(r["resources"] == 0, "html: the browser loaded no resource")
    check(len(set(r["colors"].values())) == len(r["colors"]),
          "html: each state has its own colour %s" % r["colors"])
    check(r["exit"] == str(d["exit_code"]), "html: exit code shown")
    check(r["migrations"] == str(nm), "html: codebase migrations shown")
    if nm:
        check(r["head"] == d["codebase"]["head"]["tag"], "html: head shown")
    c = r["counts"]
    check(c["count-targets"]["data"] == len(targets) and
          c["count-targets"]["shown"] == str(len(targets)), "html: targets count shown")
    for s in statuses(d) + ["not_started"]:
        e = c["count-" + s]
        check(e["data"] == d["counts"][s] and e["shown"] == str(d["counts"][s]) and e["visible"],
              "html: %s count shown = %d" % (s, d["counts"][s]))
    n_ok = sum(ok(d, t) for t in targets)
    if d["command"] == "apply":
        for o in OUTCOMES:
            e = c["outcome-" + o]
            check(e["data"] == d["outcomes"][o] and e["shown"] == str(d["outcomes"][o]),
                  "html: outcome %s shown = %d" % (o, d["outcomes"][o]))
        check(c["count-ok"]["data"] == n_ok, "html: in sync after the run = %d" % n_ok)
    check([x["target"] for x in r["rows"]] == [t["name"] for t in targets] and
          [x["name"] for x in r["rows"]] == [t["name"] for t in targets],
          "html: one row per target, in order, names intact")
    for x, t in zip(r["rows"], targets):
        n = t["name"]
        check(x["status"] == (t["status"] or "not_started"), "html: %s: status" % n)
        check(x["pending"] == (str(pending_after(t)) if known(d, t) else "\u2013"),
              "html: %s: pending" % n)
        want = cell_states(d, t, r["columns"])
        check(x["cells"] == want, "html: %s: cells %s" % (n, want))
        kinds = [p["kind"] for p in t["problems"]] if known(d, t) else []
        other = ", ".join("%d %s" % (kinds.count(k), k) for k in ("ahead", "foreign")
                          if kinds.count(k))
        check(x["other"] == other, "html: %s: other ledger rows [%s]" % (n, other))
    if "tooltip" in r:
        first = r["rows"][0]
        check(r["tooltip"].startswith(first["name"] + " \u00b7 " + r["columns"][0] + " (when "),
              "html: hovering a cell names its target and migration: " + r["tooltip"])
    check(r["shownWhenFiltered"] == len(targets) - n_ok,
          "html: 'only not in sync' leaves %d rows" % (len(targets) - n_ok))


def main():
    kind = sys.argv[1]
    if kind == "html-raw":
        return html_raw(sys.argv[2])
    if kind == "html-probe":
        return html_probe(sys.argv[2], sys.argv[3])
    d = json.load(open(sys.argv[3], encoding="utf-8"))
    {"junit": junit, "prometheus": prometheus, "markdown": markdown,
     "html-dom": html_dom}[kind](sys.argv[2], d)


if __name__ == "__main__":
    main()
