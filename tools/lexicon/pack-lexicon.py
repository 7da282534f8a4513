#!/usr/bin/python3
"""Packs the stemmer's lexicon (core/lexicon/ko-stem.lex) from the dump of nori's
dictionary that DictDump.java writes (one line per entry: surface, left id, right id, cost,
type, left POS, right POS, morphemes, reading).

Two sets of all-Hangul surfaces:
  FUNC     surfaces with an entry whose left POS is a particle (J), an ending (E, EP, EF,
           EC, ETM, ETN), a suffix (XSV, XSA, XSN) or a copula (VCP, VCN);
  CONTENT  every other surface of at most --max-syllables syllables, with one flag, QSTOP:
           its cheapest content entry is a question word, copula, auxiliary, bound noun,
           adverb, determiner, ... (the query-side stop list of docs/ranking.md), and not an
           inflected form.
The binary format is described in core/stem.c.  The lexicon id (bytes 8..15) is a 64-bit
FNV-1a hash of everything after the header: an index records it, so that a query knows when
it stems with another lexicon than the index did.

usage: pack-lexicon.py nori.tsv out.lex [--max-syllables N]"""
import struct, sys

FUNC = {'J', 'E', 'XSV', 'XSA', 'XSN', 'VCP', 'VCN', 'EP', 'EF', 'EC', 'ETM', 'ETN'}
STOP = set('E IC J MAG MAJ MM SP SSC SSO SC SE XPN XSA XSN XSV UNA NA VSV'.split())
QSTOP = STOP | {'NP', 'VCP', 'VX', 'VCN', 'NNB'}
BLOCK = 16

def hangul(s):
    return s and all('\uac00' <= c <= '\ud7a3' for c in s)

def pack_set(entries):
    """entries: sorted list of (codes tuple, flag). -> bytes of one set."""
    blocks = []
    for b in range(0, len(entries), BLOCK):
        out = bytearray()
        prev = ()
        for i, (codes, flag) in enumerate(entries[b:b + BLOCK]):
            shared = 0
            if i:
                while shared < min(len(prev), len(codes)) and prev[shared] == codes[shared]:
                    shared += 1
            suf = codes[shared:]
            assert len(suf) < 128 and shared < 256
            out += bytes([shared, len(suf) | (flag << 7)])
            out += b''.join(struct.pack('<H', c) for c in suf)
            prev = codes
        blocks.append(bytes(out))
    head = struct.pack('<II', len(entries), len(blocks))
    offs, at = [], 0
    for bl in blocks:
        offs.append(at); at += len(bl)
    offs.append(at)
    return head + b''.join(struct.pack('<I', o) for o in offs) + b''.join(blocks)

def main():
    src, dst = sys.argv[1], sys.argv[2]
    maxsyl = 64
    if '--max-syllables' in sys.argv:
        maxsyl = int(sys.argv[sys.argv.index('--max-syllables') + 1])
    func, content = set(), {}
    for line in open(src, encoding='utf-8'):
        f = line.rstrip('\n').split('\t')
        surf, cost, typ, lpos, morph = f[0], int(f[3]), f[4], f[5], f[7]
        if not hangul(surf):
            continue
        if lpos in FUNC:
            func.add(surf)
            continue
        cur = content.get(surf)
        if cur is None or cost < cur[0]:
            qstop = lpos in QSTOP and not (typ in ('INFLECT', 'PREANALYSIS') and morph)
            content[surf] = (cost, 1 if qstop else 0)
    code = lambda s: tuple(ord(c) - 0xAC00 for c in s)
    fe = sorted((code(s), 0) for s in func)
    ce = sorted((code(s), v[1]) for s, v in content.items() if len(s) <= maxsyl)
    body = pack_set(fe) + pack_set(ce)
    h = 0xcbf29ce484222325
    for byte in body:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    data = b'OSQLEX1\0' + struct.pack('<Q', h) + body
    open(dst, 'wb').write(data)
    print('%s: %d function surfaces, %d content surfaces (<= %d syllables), %d bytes, id %016x'
          % (dst, len(fe), len(ce), maxsyl, len(data), h), file=sys.stderr)

main()
