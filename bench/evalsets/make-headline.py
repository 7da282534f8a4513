#!/usr/bin/env python3
"""Builds a headline -> article ranking set from the bundled corpus (corpus/): the query is a
document's title as a person would type a headline, the judged document is the article
under it, indexed without its title so that its body has to be found.  The other documents
(news sentences and headlines, OpenStack translations) stay as they are, titles included.
Queries: the IT news articles of news-ko.jsonl (sci-news-sum-kr-50) and the write-ups of
openstack-kr-community.jsonl whose title has at least two words and is not markup.

usage: make-headline.py OUTDIR   (writes docs.jsonl, queries.tsv, qrels.tsv)"""
import json, os, re, sys

out = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(here, '..', '..', 'corpus')
os.makedirs(out, exist_ok=True)
docs, queries = [], []
for rel in ('news/news-ko.jsonl', 'openstack/openstack-kr-community.jsonl', 'openstack/openstack-docs-ko.jsonl'):
    for line in open(os.path.join(corpus, rel), encoding='utf-8'):
        d = json.loads(line)
        title = (d.get('title') or '').strip()
        long_body = len(d.get('text', '')) >= 500
        words = re.findall(r'\w+', title)
        if long_body and len(words) >= 2 and not title.startswith(':') and 'osdoc' not in d['id'] \
                and re.search('[가-힣]', title):
            queries.append((d['id'], re.sub(r'\s+', ' ', title)))
            d = dict(d, title='')
        docs.append(d)
with open(os.path.join(out, 'docs.jsonl'), 'w', encoding='utf-8') as f:
    for d in docs:
        f.write(json.dumps({k: d[k] for k in ('id', 'title', 'text') if k in d}, ensure_ascii=False) + '\n')
seen = set()
with open(os.path.join(out, 'queries.tsv'), 'w', encoding='utf-8') as fq, \
     open(os.path.join(out, 'qrels.tsv'), 'w', encoding='utf-8') as fr:
    for i, (did, q) in enumerate(queries):
        if q in seen:
            continue
        seen.add(q)
        fq.write('hl-%03d\t%s\n' % (i, q))
        fr.write('hl-%03d 0 %s 1\n' % (i, did))
print('%d documents, %d queries -> %s' % (len(docs), len(seen), out), file=sys.stderr)
