#!/usr/bin/env python3
"""One-word queries: how many of their top-10 results lack the word (spaces
and case aside), and how many of those osq marks as matches ("exact": true).
A word that ends in a particle counts as held when its stem is (화웨이가 ->
화웨이), as osq matches it.

usage: oneword.py OSQ INDEX QUERIES   (one query a line; lines with a space or a quote are skipped)
  e.g. oneword.py build/query/osq osq-index ../shared/queries/openstack-ko.txt
"""
import json, subprocess, sys, unicodedata

osq, idx, qf = sys.argv[1:4]
words = [l.strip() for l in open(qf, encoding='utf-8') if l.strip() and not any(c in l.strip() for c in ' "')]
PARTICLES = '은는이가을를의에도로와과요다서나까고며면지만야죠데께'
tot = lack = lack_exact = nonexact = 0
per = []
for w in words:
    r = subprocess.run([osq, '-i', idx, '--json', '-n', '10', w], capture_output=True, text=True)
    hits = [json.loads(l) for l in r.stdout.splitlines() if '"doc_id"' in l]
    key = unicodedata.normalize('NFKC', w).lower()
    stem = key[:-1] if len(key) >= 3 and key[-1] in PARTICLES else key
    n = ne = 0
    for h in hits:
        p = unicodedata.normalize('NFKC', h['passage']).lower().replace(' ', '').replace('\n', '')
        if not h.get('exact', True):
            nonexact += 1
        if stem not in p:
            n += 1
            ne += h.get('exact', True)
    tot += len(hits); lack += n; lack_exact += ne
    per.append('%s:%d/%d' % (w, n, len(hits)))
print(' '.join(per))
print('one-word queries %d: results %d, lacking the word %d (marked as matches %d); results after the matches %d'
      % (len(words), tot, lack, lack_exact, nonexact))
