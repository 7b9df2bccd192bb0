#!/usr/bin/env bash
# A migration, once committed, never changes: sqlx keeps each applied migration's
# checksum in the database and refuses to start when a file no longer matches, so an
# edited migration breaks every database that already ran it. Changes to the schema
# come as new files, one concern each.
#
# Each file under migrations/ (SQLite) and migrations/postgres/ is compared (as it is in the work tree) with the version
# first committed. 20261125000002_accounts.sql was edited after it landed, before this
# check existed; everything committed up to 78aadb5 is held to its form there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

frozen_at=78aadb5a20bec4aed2d8d727f1db2e2f27797f32
if [ "$(git rev-parse --is-shallow-repository 2>/dev/null || echo false)" = true ] ||
  ! git cat-file -e "$frozen_at^{commit}" 2>/dev/null; then
  echo "migrations: skipped: this clone lacks the history to compare with (shallow clone?)"
  exit 0
fi

changed=0
for file in migrations/*.sql migrations/postgres/*.sql; do
  first=$(git log --diff-filter=A --format=%H --reverse -- "$file" | head -n 1)
  [ -n "$first" ] || continue # new in this change: nothing landed to compare with
  base=$first
  if git merge-base --is-ancestor "$first" "$frozen_at"; then
    base=$frozen_at
  fi
  if ! git diff --quiet "$base" -- "$file"; then
    echo "migrations: $file differs from the version committed in $(git log -1 --format='%h (%s)' "$base"); add a new migration instead" >&2
    changed=1
  fi
done
for gone in $(git ls-tree --name-only "$frozen_at" migrations/ ; git log --diff-filter=D --format= --name-only -- migrations/); do
  [ -e "$gone" ] || { echo "migrations: $gone was removed; a landed migration stays" >&2; changed=1; }
done
[ "$changed" = 0 ] && echo "migrations: $(ls migrations/*.sql migrations/postgres/*.sql | wc -l) files, none changed since it was committed"
exit "$changed"
