#!/usr/bin/env python3
"""Scores osq on the headline set (make-headline.py) twice: over all headlines, and over
the headlines whose text (spaces aside) stands in one document only.  Some headlines of the
OpenStack study group's write-ups head several near-identical documents (`3week - openstack
server list 에 field 추가하기` heads six); among those the judged one is found by a tie, and
a change of ranking that moves them says little (docs/ranking.md, document-level evidence).
Counts as `osbench --eval` does: top 10 passages, distinct documents, MRR@10 / recall@10.

usage: headline-single.py OSQ INDEX SETDIR   (INDEX: osindex of SETDIR/docs.jsonl)"""
import collections, json, re, subprocess, sys

osq, idx, d = sys.argv[1:4]
norm = lambda s: re.sub(r'\s+', ' ', s).strip()
texts = [norm((j.get('title') or '') + '\n' + j['text'])
         for j in map(json.loads, open(d + '/docs.jsonl', encoding='utf-8'))]
queries = dict(l.rstrip('\n').split('\t', 1) for l in open(d + '/queries.tsv', encoding='utf-8'))
rel = collections.defaultdict(set)
for l in open(d + '/qrels.tsv'):
    f = l.split()
    if len(f) >= 4 and int(f[3]) > 0:
        rel[f[0]].add(f[2])
single = {q for q, t in queries.items() if sum(norm(t) in x for x in texts) <= 1}
out = subprocess.run([osq, '-i', idx, '-n', '10', '--passages', '--batch', d + '/queries.tsv'],
                     capture_output=True, text=True).stdout
got = collections.defaultdict(list)
for l in out.splitlines():
    j = json.loads(l)
    if 'doc_id' in j and j['doc_id'] not in got[j['qid']]:
        got[j['qid']].append(j['doc_id'])
for name, qs in (('all', [q for q in queries if rel[q]]), ('single-document', [q for q in queries if rel[q] and q in single])):
    rr = rec = 0.0
    for q in qs:
        ids = got[q][:10]
        rr += next((1 / (i + 1) for i, x in enumerate(ids) if x in rel[q]), 0)
        rec += len(set(ids) & rel[q]) / len(rel[q])
    print('headline %-16s MRR@10 %.3f  recall@10 %.3f  (n=%d)' % (name, rr / len(qs), rec / len(qs), len(qs)))
