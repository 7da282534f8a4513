#!/usr/bin/env python3
"""Builds a long-document ranking set from the precedents corpus: a question of law -> the
ruling that decides it.  Not committed data: this script makes the set from
../shared/corpus/scale/precedents-ko.jsonl.gz into OUTDIR each time.

Query: the first item of a ruling's 판시사항 (the issues the court decided, e.g.
"형사처벌에 관한 위임입법이 허용되기 위한 요건").  Documents: every ruling with its
판시사항 and 판결요지 sections removed, so that a query is never found verbatim and the
ruling has to be found from its reasons (이유), its title (사건명) and its front matter,
as a lawyer's question would find it.  Relevant: every ruling whose 판시사항 holds the same
item (rulings on the same issue), judged at document level.

usage: make-prec-issue.py OUTDIR [N_QUERIES] [SEED]
writes OUTDIR/docs.jsonl, OUTDIR/queries.tsv (qid<TAB>query), OUTDIR/qrels.tsv (TREC)."""
import gzip, json, os, random, re, sys

out = sys.argv[1]
nq = int(sys.argv[2]) if len(sys.argv) > 2 else 400
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, '..', '..', '..', 'shared', 'corpus', 'scale', 'precedents-ko.jsonl.gz')
os.makedirs(out, exist_ok=True)

sec_re = re.compile(r'^## (.+)$', re.M)

def sections(text):
    """[(name, start, end)] of the '## ' sections of a ruling's Markdown."""
    ms = list(sec_re.finditer(text))
    return [(m.group(1).strip(), m.start(), ms[i + 1].start() if i + 1 < len(ms) else len(text))
            for i, m in enumerate(ms)]

def items(body):
    """The numbered items of a 판시사항 section ([1] ... [2] ...), or the whole of it."""
    body = body.strip()
    parts = re.split(r'\s*\[\d+\]\s*', body)
    parts = [re.sub(r'\s+', ' ', p).strip() for p in parts]
    return [p for p in parts if p]

docs, issue_of, by_issue = [], {}, {}
with gzip.open(src, 'rt', encoding='utf-8') as f:
    for line in f:
        d = json.loads(line)
        t = d['text']
        keep, its = [], []
        pos = 0
        for name, a, b in sections(t):
            if name in ('판시사항', '판결요지'):
                keep.append(t[pos:a])
                pos = b
                if name == '판시사항':
                    its = items(t[a:b].split('\n', 1)[1] if '\n' in t[a:b] else '')
        keep.append(t[pos:])
        d['text'] = ''.join(keep)
        docs.append(d)
        for it in its:
            by_issue.setdefault(it, []).append(d['id'])
        if its:
            issue_of[d['id']] = its[0]

with open(os.path.join(out, 'docs.jsonl'), 'w', encoding='utf-8') as f:
    for d in docs:
        f.write(json.dumps({k: d[k] for k in ('id', 'title', 'text') if k in d}, ensure_ascii=False) + '\n')

rng = random.Random(seed)
cands = sorted(i for i, q in issue_of.items() if 8 <= len(q) <= 120)
rng.shuffle(cands)
seen, n = set(), 0
with open(os.path.join(out, 'queries.tsv'), 'w', encoding='utf-8') as fq, \
     open(os.path.join(out, 'qrels.tsv'), 'w', encoding='utf-8') as fr:
    for did in cands:
        q = issue_of[did]
        if q in seen:
            continue
        seen.add(q)
        qid = 'pi-%04d' % n
        fq.write('%s\t%s\n' % (qid, q))
        for rel in sorted(set(by_issue[q])):
            fr.write('%s 0 %s 1\n' % (qid, rel))
        n += 1
        if n == nq:
            break
print('%d documents, %d queries -> %s' % (len(docs), n, out), file=sys.stderr)
