#!/usr/bin/env python3
"""Phrase queries over punctuation: of the phrase rows of a query log (kind
"phrase": kind<TAB>bucket<TAB>"w1 w2 ..."), which stand in one line of a
corpus document with only spaces, punctuation or markup between their words,
and how many of those osq finds (a first result that is a match).

usage: phrases.py OSQ INDEX CORPUS.jsonl[.gz] QUERY_LOG
  e.g. phrases.py build/query/osq /tmp/prec-idx \\
         ../shared/corpus/scale/precedents-ko.jsonl.gz ../shared/queries/precedents-ko.tsv
"""
import gzip, json, re, subprocess, sys

osq, idx, corpus, qf = sys.argv[1:5]
rows = [l.rstrip('\n').split('\t')[2] for l in open(qf, encoding='utf-8') if l.startswith('phrase\t')]
op = gzip.open if corpus.endswith('.gz') else open
lines = []
for l in op(corpus, 'rt', encoding='utf-8'):
    d = json.loads(l)
    lines.extend((d.get('title') or '').split('\n') + (d.get('text') or '').split('\n'))
text = '\n'.join(lines)
stand = []
for q in rows:
    words = q.strip('"').split()
    if re.search(r'[^\w\n]*'.join(re.escape(w) for w in words), text):
        stand.append(q)
inp = ''.join('%d\t%s\n' % (i, q) for i, q in enumerate(stand))
r = subprocess.run([osq, '-i', idx, '--json', '-n', '1', '--batch', '-'], input=inp,
                   capture_output=True, text=True)
found = set()
for l in r.stdout.splitlines():
    if '"doc_id"' in l:
        x = json.loads(l)
        if x.get('exact', True):
            found.add(int(x['qid']))
missing = [stand[i] for i in range(len(stand)) if i not in found]
print('phrase rows %d; standing in one line with only spaces/punctuation between the words %d; '
      'found %d; not found %d' % (len(rows), len(stand), len(stand) - len(missing), len(missing)))
for q in missing:
    print('  not found:', q)
