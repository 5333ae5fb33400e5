"""jar-closure.py ROOT JAR...: print 'path-on-disk name' for each jar and its manifest Class-Path closure,
resolving the symlinks of an extracted Debian /usr/share/java under ROOT. Missing optional jars are skipped."""
import os
import re
import sys
import zipfile

root, todo, seen = sys.argv[1], list(sys.argv[2:]), {}


def on_disk(path):
    p = root + path
    while os.path.islink(p):
        target = os.readlink(p)
        p = root + target if target.startswith("/") else os.path.join(os.path.dirname(p), target)
    return p


while todo:
    jar = todo.pop()
    if jar in seen:
        continue
    p = on_disk(jar)
    if not os.path.isfile(p):
        continue
    seen[jar] = p
    manifest = re.sub(r"\r?\n ", "", zipfile.ZipFile(p).read("META-INF/MANIFEST.MF").decode(errors="replace"))
    for line in manifest.splitlines():
        if line.startswith("Class-Path:"):
            todo += [d if d.startswith("/") else os.path.join(os.path.dirname(jar), d) for d in line[11:].split()]
for jar, p in sorted(seen.items()):
    print(p, os.path.basename(jar))
