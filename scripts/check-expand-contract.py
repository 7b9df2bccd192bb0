#!/usr/bin/env python3
"""Migrations expand, then contract (README, "Migrations and rolling deploys"). During a
rolling deploy the replicas of the previous release run against the database that the
new release's migrations have already changed, so a migration may only add what old
code does not notice: tables, columns (nullable, or with a default), indexes, triggers.
Whatever old code could still name is taken away one release later, once the code of
an earlier release no longer mentions it. `make test` runs this check.

What counts as contracting. Each file under migrations/ (SQLite) and
migrations/postgres/ (PostgreSQL) is read statement by statement (comments removed,
keywords in any case) and applied, in version order, to a model of the schema: its
tables and views with their columns (declared type, NOT NULL, default), its indexes,
triggers, functions, types and sequences. What a migration takes away is the
difference between the model before and after it, so SQLite's table rebuild
(`CREATE TABLE x_new ...; INSERT INTO x_new SELECT ...; DROP TABLE x; ALTER TABLE x_new
RENAME TO x;`, with the indexes and triggers made again) is no change when `x_new` has
all of `x`'s columns with the same types and constraints. Contracting:

- a table or view that is gone (DROP TABLE, DROP VIEW, a RENAME TO a new name, a
  rebuild under another name, SET SCHEMA): its name must be unused;
- a column that is gone (DROP COLUMN, RENAME COLUMN, left out of a rebuild) or whose
  declared type changed (ALTER COLUMN ... TYPE, a rebuild): its name must be unused
  (sqlx decodes a column by the type the statement was checked against, so old
  replicas fail on a new type);
- a column that becomes NOT NULL, or NOT NULL and loses its default (SET NOT NULL,
  ADD PRIMARY KEY, DROP DEFAULT, a rebuild): the released code must write it in every
  insert, so here the header says `written since` (the check can only see that the code
  at that revision mentions the column; that every insert writes it is the author's
  word);
- an index, trigger, function, type or sequence that is gone, when code mentions its
  name (an `INDEXED BY`, a cast to a type): its name must be unused. One that no code
  names is not a contract: statements do not name indexes, and a dropped index slows a
  query of an old replica without breaking it; a trigger dropped for good is a change
  of behaviour for old and new code alike, not a rolling-deploy hazard.

Refused outright, with no header that could allow it: a NOT NULL column without a
default added to an existing table (old replicas' inserts leave it out: add it nullable
or with a default, and make it NOT NULL a release later), a table rebuilt from
`CREATE TABLE ... AS` (its columns cannot be read here: write them out), and a statement
that looks contracting (ALTER or DROP with DROP, RENAME, TYPE or NOT NULL) but is not
understood, unless a contract header covers it. Not seen at all: a narrower CHECK, a new
UNIQUE or foreign key on an existing table; review those as contracts.

The header. A contracting migration carries, on a line of its own, for each thing it
takes away:

    -- contract: <name>[, <name>...] unused since <revision>
    -- contract: <name>[, <name>...] written since <revision>

where a name is `table`, `table.column` or `column`, and the revision (a commit or a
tag) is the release whose code no longer mentions the names (`unused`; checked with
`git grep -w` at that revision) or mentions them (`written`), in statements/,
store-sqlite/src, store-postgres/src, base/src (the rows sqlx fills, field by column),
backend/src and server/src. The revision must be an ancestor of HEAD and, once the
migration is committed, an ancestor of the commit that added it other than that
commit: the code stopped using the names before, so a release without them can ship
first. Names that a migration takes away must also be unused in the work tree
(tracked and untracked files). Matching is by whole word, in lower case (names are
read in lower case, and the code writes SQL identifiers so, as the migrations do: a
Rust type `Failure` is no mention of a column `failure`); a name that is also a
common word of the code (a variable or field named like the column) is found there
too, and keeps its column until the word is gone. A header naming something the migration
does not take away is refused too (most likely a typo, or the new name of a rename
instead of the old).

Migrations committed by 5d5da85, before this check existed, are not held to it (they
are still applied to the model); a shallow clone, which lacks the history to check
revisions in, skips the check.
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LANDED_AT = "5d5da850c30e172ac702a21a596ad5f5c29dfe77"
CODE = ["statements", "store-sqlite/src", "store-postgres/src", "base/src", "backend/src", "server/src"]
FOLDERS = ["migrations", "migrations/postgres"]  # SQLite, PostgreSQL: one schema each
HEADER = re.compile(
    r"^\s*--\s*contract\s*:\s*(?P<names>.+?)\s+(?P<verb>unused|written)\s+since\s+(?P<rev>\S+)\s*$",
    re.IGNORECASE,
)


# ---- git ----------------------------------------------------------------------------


def git(*args):
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)


def commit_of(rev):
    done = git("rev-parse", "--verify", "--quiet", rev + "^{commit}")
    return done.stdout.strip() if done.returncode == 0 else None


def is_ancestor(older, newer):
    return git("merge-base", "--is-ancestor", older, newer).returncode == 0


def short(rev):
    return git("rev-parse", "--short", rev).stdout.strip() or rev


def mentions(word, rev=None):
    """Where the code mentions `word` (at `rev`, or in the work tree): up to three places."""
    args = ["grep", "-I", "-w", "-n", "-F", "-e", word]
    args += [rev] if rev else ["--untracked"]
    done = git(*args, "--", *CODE)
    if done.returncode not in (0, 1):
        sys.exit(f"expand/contract: git grep failed: {done.stderr.strip()}")
    return done.stdout.splitlines()[:3]


# ---- SQL text -----------------------------------------------------------------------

TOKEN = re.compile(
    r"""\s+|--[^\n]*|/\*.*?\*/
    |(?P<tok>'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]
    |(?P<dollar>\$[A-Za-z_]*\$)|[A-Za-z_][A-Za-z0-9_$]*|\d+(?:\.\d+)?|::|<>|<=|>=|!=|\|\||.)""",
    re.DOTALL | re.VERBOSE,
)


def statements(text):
    """The statements of a migration, each a list of tokens (comments dropped; a
    trigger's BEGIN ... END body and a dollar-quoted body stay inside their statement)."""
    out, current, depth, pos = [], [], 0, 0
    while pos < len(text):
        found = TOKEN.match(text, pos)
        pos = found.end()
        tok = found.group("tok")
        if tok is None:
            continue
        if found.group("dollar"):  # $$ ... $$ or $tag$ ... $tag$: one token
            end = text.find(tok, pos)
            end = len(text) if end < 0 else end + len(tok)
            tok, pos = text[found.start() : end], end
        word = tok.upper()
        trigger = len(current) >= 2 and "TRIGGER" in [t.upper() for t in current[:4]]
        if trigger and word in ("BEGIN", "CASE"):
            depth += 1
        elif trigger and word == "END" and depth:
            depth -= 1
        if tok == ";" and depth == 0:
            if current:
                out.append(current)
            current = []
            continue
        current.append(tok)
    if current:
        out.append(current)
    return out


def ident(tok):
    if tok[:1] in "\"`[":
        tok = tok[1:-1]
    return tok.lower()


def up(toks, i):
    return toks[i].upper() if i < len(toks) else ""


def split_top(toks, sep=","):
    """`toks` cut at `sep` outside parentheses."""
    parts, current, depth = [], [], 0
    for tok in toks:
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
        if tok == sep and depth == 0:
            parts.append(current)
            current = []
        else:
            current.append(tok)
    parts.append(current)
    return [part for part in parts if part]


def top_level(toks):
    """The tokens outside parentheses, upper-cased."""
    out, depth = [], 0
    for tok in toks:
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
        elif depth == 0:
            out.append(tok.upper())
    return out


def group(toks, start):
    """The tokens inside the parentheses that open at `start`, and the index after them."""
    depth = 0
    for i in range(start, len(toks)):
        if toks[i] == "(":
            depth += 1
        elif toks[i] == ")":
            depth -= 1
            if depth == 0:
                return toks[start + 1 : i], i + 1
    return toks[start + 1 :], len(toks)


def sentence(toks, limit=90):
    text = " ".join(toks)
    spacing = {"(": " (", ")": ")", ",": ", ", ".": "."}
    text = re.sub(r" ?([(),.]) ?", lambda m: spacing[m.group(1)], text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---- the schema model ---------------------------------------------------------------

CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
                    "REFERENCES", "COLLATE", "GENERATED", "AS", "AUTOINCREMENT"}
TABLE_CONSTRAINTS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE", "LIKE"}


def column(toks):
    """(name, {type, notnull, default}) of a column definition."""
    name, rest = ident(toks[0]), toks[1:]
    kind = []
    depth = 0
    for tok in rest:
        if depth == 0 and tok.upper() in CONSTRAINT_WORDS:
            break
        depth += tok == "("
        depth -= tok == ")"
        kind.append(tok.upper())
    kind = re.sub(r"\s*([(),])\s*", r"\1", " ".join(kind))
    words = top_level(rest)
    notnull = "PRIMARY" in words or any(a == "NOT" and b == "NULL" for a, b in zip(words, words[1:]))
    default = (bool({"DEFAULT", "GENERATED", "AUTOINCREMENT"} & set(words))
               or kind in ("SERIAL", "BIGSERIAL", "SMALLSERIAL")
               or (kind == "INTEGER" and "PRIMARY" in words))
    return name, {"type": kind, "notnull": notnull, "default": default}


def key_columns(toks):
    """The columns a PRIMARY KEY (...) table constraint names."""
    words = [t.upper() for t in toks]
    if "PRIMARY" not in words:
        return []
    at = words.index("PRIMARY")
    opening = next((i for i in range(at, len(toks)) if toks[i] == "("), None)
    if opening is None:
        return []
    inside, _ = group(toks, opening)
    return [ident(part[0]) for part in split_top(inside)]


class Schema:
    def __init__(self):
        # name -> {"kind": "table" or "view", "columns": {name: column} or None}
        self.relations = {}
        # name -> (kind, table or None): indexes, triggers, functions, types, sequences
        self.objects = {}
        # Within one migration: relations dropped by name, columns altered that the
        # model does not hold.
        self.dropped, self.lost_columns = set(), set()

    def copy(self):
        other = Schema()
        other.relations = {
            name: {"kind": rel["kind"],
                   "columns": None if rel["columns"] is None
                   else {c: dict(v) for c, v in rel["columns"].items()}}
            for name, rel in self.relations.items()
        }
        other.objects = dict(self.objects)
        return other

    def drop_relation(self, name):
        self.relations.pop(name, None)
        for other, (_, table) in list(self.objects.items()):
            if table == name:
                del self.objects[other]

    def apply(self, toks):
        """Applies one statement. Returns False for a statement that looks contracting
        but is not understood."""
        words = [t.upper() for t in toks]
        if words[0] == "CREATE":
            return self.create(toks, words)
        if words[0] == "DROP":
            return self.drop(toks, words)
        if words[0] == "ALTER" and up(toks, 1) == "TABLE":
            return self.alter_table(toks, words)
        if words[0] == "ALTER" and up(toks, 1) == "INDEX" and "RENAME" in words:
            i = 2 + 2 * (up(toks, 2) == "IF")
            old, new = ident(toks[i]), ident(toks[-1])
            if old in self.objects:
                self.objects[new] = self.objects.pop(old)
            return True
        if words[0] in ("ALTER", "DROP") and looks_contracting(words):
            return False
        return True

    def create(self, toks, words):
        i = 1
        while up(toks, i) in ("OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "UNIQUE",
                              "MATERIALIZED", "RECURSIVE", "GLOBAL", "LOCAL"):
            i += 1
        kind = up(toks, i)
        i += 1
        if up(toks, i) == "CONCURRENTLY":
            i += 1
        exists = up(toks, i) == "IF"
        if exists:
            i += 3
        if i >= len(toks) or (kind == "INDEX" and up(toks, i) == "ON"):
            return True  # PostgreSQL's index without a name: nothing to take away later
        name = ident(toks[i])
        if up(toks, i + 1) == ".":  # schema.name
            i += 2
            name = ident(toks[i])
        if kind == "TABLE":
            if exists and name in self.relations:
                return True
            columns = None
            if up(toks, i + 1) == "(":
                body, _ = group(toks, i + 1)
                columns, keys = {}, []
                for part in split_top(body):
                    if part[0].upper() in TABLE_CONSTRAINTS:
                        keys += key_columns(part)
                    else:
                        col, spec = column(part)
                        columns[col] = spec
                for key in keys:
                    if key in columns:
                        columns[key]["notnull"] = True
            self.relations[name] = {"kind": "table", "columns": columns}
        elif kind == "VIEW":
            self.relations[name] = {"kind": "view", "columns": None}
        elif kind in ("INDEX", "TRIGGER"):
            on = next((j for j in range(i + 1, len(toks)) if toks[j].upper() == "ON"), None)
            table = None
            if on is not None:
                j = on + 1 + (up(toks, on + 1) == "ONLY")
                table = ident(toks[j]) if j < len(toks) else None
            self.objects[name] = (kind.lower(), table)
        elif kind in ("FUNCTION", "PROCEDURE", "TYPE", "SEQUENCE", "DOMAIN"):
            self.objects[name] = (kind.lower(), None)
        return True

    def drop(self, toks, words):
        i = 1
        if up(toks, i) == "MATERIALIZED":
            i += 1
        kind = up(toks, i)
        i += 1
        if up(toks, i) == "CONCURRENTLY":
            i += 1
        if up(toks, i) == "IF":
            i += 2
        rest = toks[i:]
        while rest and rest[-1].upper() in ("CASCADE", "RESTRICT"):
            rest = rest[:-1]
        if kind in ("TABLE", "VIEW"):
            for part in split_top(rest):
                name = ident(part[-1])  # schema.name: the last part
                self.dropped.add(name)
                self.drop_relation(name)
            return True
        if kind in ("INDEX", "TRIGGER", "FUNCTION", "PROCEDURE", "TYPE", "SEQUENCE", "DOMAIN"):
            for part in split_top(rest):
                name = ident(part[0]) if up(part, 1) != "." else ident(part[2])
                self.objects.pop(name, None)
            return True
        return not looks_contracting(words)

    def alter_table(self, toks, words):
        i = 2
        if up(toks, i) == "IF":
            i += 2
        if up(toks, i) == "ONLY":
            i += 1
        name = ident(toks[i])
        if up(toks, i + 1) == ".":
            i += 2
            name = ident(toks[i])
        rel = self.relations.get(name)
        understood = True
        for action in split_top(toks[i + 1 :]):
            understood &= self.alter_action(name, rel, action)
        return understood

    def alter_action(self, name, rel, act):
        a = [t.upper() for t in act]
        columns = rel["columns"] if rel else None
        if a[0] == "RENAME":
            if a[1] == "TO":
                new = ident(act[2])
                if name in self.relations:
                    self.relations[new] = self.relations.pop(name)
                    for obj, (kind, table) in list(self.objects.items()):
                        if table == name:
                            self.objects[obj] = (kind, new)
                else:
                    self.dropped.add(name)
                return True
            if a[1] == "CONSTRAINT":
                return True
            j = 1 + (a[1] == "COLUMN")
            old, new = ident(act[j]), ident(act[j + 2])
            if columns is not None and old in columns:
                columns[new] = columns.pop(old)
            else:
                self.lost_columns.add((name, old))
            return True
        if a[:2] == ["SET", "SCHEMA"]:  # out of the search path: gone, for old code
            self.drop_relation(name)
            self.dropped.add(name)
            return True
        if a[0] == "ADD":
            j = 1 + (a[1:2] == ["COLUMN"])
            if a[j] in TABLE_CONSTRAINTS:
                for key in key_columns(act[j:]):
                    if columns is not None and key in columns:
                        columns[key]["notnull"] = True
                return True
            if a[j] == "IF":
                j += 3
            col, spec = column(act[j:])
            if columns is not None and col not in columns:
                columns[col] = spec
            return True
        if a[0] == "DROP":
            if a[1] == "CONSTRAINT":
                return True
            j = 1 + (a[1] == "COLUMN")
            if a[j] == "IF":
                j += 2
            col = ident(act[j])
            if columns is not None and col in columns:
                del columns[col]
            else:
                self.lost_columns.add((name, col))
            return True
        if a[0] == "ALTER":
            j = 1 + (a[1] == "COLUMN")
            col = ident(act[j])
            rest = a[j + 1 :]
            spec = columns.get(col) if columns is not None else None
            if rest[:1] == ["TYPE"] or rest[:3] == ["SET", "DATA", "TYPE"]:
                start = j + 2 if rest[0] == "TYPE" else j + 4
                kind = []
                for tok in act[start:]:
                    if tok.upper() in ("USING", "COLLATE"):
                        break
                    kind.append(tok.upper())
                kind = re.sub(r"\s*([(),])\s*", r"\1", " ".join(kind))
                if spec is not None:
                    spec["type"] = kind
                else:
                    self.lost_columns.add((name, col))
                return True
            if rest[:3] == ["SET", "NOT", "NULL"]:
                if spec is not None:
                    spec["notnull"] = True
                else:
                    self.lost_columns.add((name, col))
                return True
            if rest[:3] == ["DROP", "NOT", "NULL"]:
                if spec is not None:
                    spec["notnull"] = False
                return True
            if rest[:2] == ["SET", "DEFAULT"] or rest[:1] == ["ADD"] and "GENERATED" in rest:
                if spec is not None:
                    spec["default"] = True
                return True
            if rest[:2] in (["DROP", "DEFAULT"], ["DROP", "IDENTITY"]):
                if spec is not None:
                    spec["default"] = False
                return True
            return True  # SET STATISTICS, SET STORAGE, ...: nothing old code sees
        return not looks_contracting(a)


def looks_contracting(words):
    pairs = set(zip(words, words[1:]))
    return ("DROP" in words[1:] or "RENAME" in words or "TYPE" in words
            or ("NOT", "NULL") in pairs)


# ---- one migration ------------------------------------------------------------------


def changes(before, after, created, dropped, lost_columns):
    """What the migration takes away: a list of (name, kind, verbs, what), where `name`
    is what a header names and `verbs` the header verbs that may cover it (none: no
    header can)."""
    out = []
    for name, rel in before.relations.items():
        if name not in after.relations:
            out.append((name, rel["kind"], {"unused"}, f"removes the {rel['kind']} {name}"))
            continue
        new = after.relations[name]
        if rel["columns"] is None:
            continue
        if new["columns"] is None:
            out.append((name, "opaque", set(),
                        f"rebuilds {name} from a statement whose columns cannot be read here"))
            continue
        for col, spec in rel["columns"].items():
            now = new["columns"].get(col)
            full = f"{name}.{col}"
            if now is None:
                out.append((full, "column", {"unused"}, f"removes the column {full}"))
                continue
            if now["type"] != spec["type"]:
                out.append((full, "retype", {"unused"}, f"changes {full}'s type from "
                            f"{spec['type'] or 'none'} to {now['type'] or 'none'}"))
            if now["notnull"] and not spec["notnull"]:
                out.append((full, "notnull", {"written"}, f"makes {full} NOT NULL"))
            elif now["notnull"] and spec["default"] and not now["default"]:
                out.append((full, "notnull", {"written"},
                            f"takes {full}'s default (it is NOT NULL)"))
        for col, spec in new["columns"].items():
            if col not in rel["columns"] and spec["notnull"] and not spec["default"]:
                out.append((f"{name}.{col}", "addnotnull", set(), f"adds {name}.{col} NOT NULL "
                            "without a default to a table old replicas insert into"))
    for name in sorted(dropped - set(before.relations) - created):
        out.append((name, "table", {"unused"}, f"removes {name} (not a table this check knows)"))
    for table, col in sorted(lost_columns):
        known = table in before.relations and before.relations[table]["columns"] is not None
        if table in created or known:
            continue  # a column of a table new in this migration, or added and taken away in it
        out.append((f"{table}.{col}", "column", {"unused"},
                    f"removes or alters the column {table}.{col} (not one this check knows)"))
    for name, (kind, _) in before.objects.items():
        if name not in after.objects:
            out.append((name, kind, {"unused"}, f"removes the {kind} {name}"))
    return out


OBJECTS = ("index", "trigger", "function", "procedure", "type", "sequence", "domain")


def covers(header_name, name):
    if header_name == name:
        return True
    return "." in name and "." not in header_name and name.split(".", 1)[1] == header_name


def listing(places):
    return "".join(f"\n    {place}" for place in places)


def word(name):
    return name.rsplit(".", 1)[-1]


def headers_of(text, rel, problems):
    """The contract headers: (line number, names, verb, revision)."""
    headers = []
    for number, line in enumerate(text.splitlines(), 1):
        if not re.match(r"^\s*--\s*contract\b", line, re.IGNORECASE):
            continue
        m = HEADER.match(line)
        if m:
            names = [n.strip().lower() for n in m.group("names").split(",") if n.strip()]
            headers.append((number, names, m.group("verb").lower(), m.group("rev")))
        else:
            problems.append(f"{rel}:{number}: a contract header reads `-- contract: <name>[, "
                            "<name>...] unused since <revision>` (or `written since`, for a "
                            "column made NOT NULL)")
    return headers


def check(path, schema, landed, head):
    """Applies the migration at `path` to `schema`; returns (contracting?, problems)."""
    text = (REPO / path).read_text()
    rel = path.as_posix()
    before = schema.copy()
    schema.dropped, schema.lost_columns = set(), set()
    created_before = set(schema.relations)
    unknown, created = [], set()
    for toks in statements(text):
        try:
            understood = schema.apply(toks)
        except IndexError:  # cut short: read as nothing, unless it looks contracting
            understood = not looks_contracting([t.upper() for t in toks])
        if not understood:
            unknown.append(sentence(toks))
        if toks[0].upper() == "CREATE":
            created |= set(schema.relations) - created_before
    found = changes(before, schema, created, schema.dropped, schema.lost_columns)
    if landed:
        return False, []

    problems = []
    added = git("log", "--diff-filter=A", "--format=%H", "--reverse", "--", rel).stdout.split()
    added = added[0] if added else None
    # An index, trigger, function, type or sequence taken away is a contract only when
    # code names it: in the release before this migration, or in the work tree.
    released = f"{added}^" if added else head
    contracts = [c for c in found
                 if c[1] not in OBJECTS or mentions(c[0], released) or mentions(c[0])]
    headers = headers_of(text, rel, problems)

    for name, kind, verbs, what in contracts:
        if not verbs:
            remedy = ("add it nullable or with a DEFAULT, and make it NOT NULL in a later release"
                      if kind == "addnotnull" else "write the new table's columns out")
            problems.append(f"{rel} {what}; {remedy}")
            continue
        if any(verb in verbs and any(covers(n, name) for n in names)
               for _, names, verb, _ in headers):
            continue
        if "unused" in verbs:
            how = (f"release first the code that no longer mentions `{word(name)}` "
                   "(statements/, store-*/src, base/src, backend/src, server/src), then add "
                   f"the line\n    -- contract: {name} unused since <that release's commit or tag>")
        else:
            how = (f"release first the code that writes `{word(name)}` in every insert, then "
                   f"add the line\n    -- contract: {name} written since <that release's commit "
                   "or tag>")
        problems.append(f"{rel} {what}, which replicas of the previous release may still use "
                        f"during a rolling deploy, and no contract header covers it: {how}")
    if unknown and not headers:
        for sql in unknown:
            problems.append(f"{rel}: cannot tell what `{sql}` takes away; if it removes, renames "
                            "or narrows anything, name it in a `-- contract: <name> unused since "
                            "<revision>` line, else write it as this check reads it")

    for number, names, verb, rev in headers:
        where = f"{rel}:{number}"
        commit = commit_of(rev)
        if commit is None:
            problems.append(f"{where}: `{rev}` is no commit or tag in this clone")
            continue
        if not is_ancestor(commit, head):
            problems.append(f"{where}: {rev} is not an ancestor of HEAD: name a commit of a "
                            "release this branch builds on")
            continue
        if added and (commit == added or not is_ancestor(commit, added)):
            problems.append(f"{where}: {rev} is not older than {short(added)}, the commit that "
                            "added this migration: the code must stop using the names in an "
                            "earlier release")
            continue
        for name in names:
            if not unknown and not any(covers(name, c[0]) and verb in c[2] for c in contracts):
                taken = "; ".join(f"{c[0]} ({' or '.join(sorted(c[2]))} since)"
                                  for c in contracts if c[2])
                problems.append(f"{where}: names `{name}` as {verb}, but that is not what this "
                                f"migration takes away ({taken or 'it takes nothing away'}); a "
                                "rename's header names the old name")
                continue
            places = mentions(word(name), commit)
            if verb == "unused" and places:
                problems.append(f"{where}: `{word(name)}` is still used at {rev}, so the release "
                                "before this migration may use it; name a later revision, one "
                                "whose code no longer mentions it:"
                                + listing(p.split(":", 1)[1] for p in places))
            if verb == "written" and not places:
                problems.append(f"{where}: no code at {rev} mentions `{word(name)}`, so none "
                                "writes it; name the release that writes it in every insert")

    # What the migration takes away, the code in the work tree cannot use either.
    removed = {c[0] for c in contracts if c[2] == {"unused"} and c[1] != "retype"}
    if unknown:  # then what the header says is taken away
        removed |= {n for _, names, verb, _ in headers if verb == "unused" for n in names}
    for name in sorted(removed):
        places = mentions(word(name))
        if places:
            problems.append(f"{rel} removes {name}, yet the work tree still mentions "
                            f"`{word(name)}`:" + listing(places))
    return bool(contracts or unknown), problems


def main():
    shallow = git("rev-parse", "--is-shallow-repository").stdout.strip()
    if shallow != "false" or commit_of(LANDED_AT) is None:
        print("expand/contract: skipped: this clone lacks the history to check revisions in "
              "(shallow clone?)")
        return 0
    head = commit_of("HEAD")
    landed = set(git("ls-tree", "-r", "--name-only", LANDED_AT, "--", "migrations/").stdout.split())
    total, old, contracting, problems = 0, 0, 0, []
    for folder in FOLDERS:
        schema = Schema()
        for path in sorted((REPO / folder).glob("*.sql")):
            rel = path.relative_to(REPO)
            is_landed = rel.as_posix() in landed
            total += 1
            old += is_landed
            contracts, found = check(rel, schema, is_landed, head)
            contracting += contracts
            problems += found
    for problem in problems:
        print(f"expand/contract: {problem}", file=sys.stderr)
    if problems:
        print("expand/contract: see scripts/check-expand-contract.py's header and README, "
              '"Migrations and rolling deploys"', file=sys.stderr)
        return 1
    newer = total - old
    print(f"expand/contract: {total} migrations; {old} landed by {LANDED_AT[:7]}, before this "
          f"check, are grandfathered; {newer} newer: {newer - contracting} expand only, "
          f"{contracting} contract with a header that holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
