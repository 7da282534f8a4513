package org.apache.lucene.analysis.ko.dict;
import java.io.*;
import java.nio.charset.StandardCharsets;
import org.apache.lucene.util.IntsRef;
import org.apache.lucene.util.fst.*;

/** Dumps nori's TokenInfoDictionary: surface \t leftId \t rightId \t cost \t type \t leftPOS \t rightPOS \t morphemes(+)
 *  and the connection costs as a binary little-endian int16 matrix [right][left] with a header line. */
public class DictDump {
  public static void main(String[] a) throws Exception {
    TokenInfoDictionary d = TokenInfoDictionary.getInstance();
    FST<Long> fst = d.getFST().getInternalFST();
    IntsRefFSTEnum<Long> en = new IntsRefFSTEnum<>(fst);
    PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(new FileOutputStream(a[0]), StandardCharsets.UTF_8)));
    IntsRefFSTEnum.InputOutput<Long> io;
    IntsRef ids = new IntsRef();
    long n = 0;
    while ((io = en.next()) != null) {
      IntsRef in = io.input;
      char[] s = new char[in.length];
      for (int i = 0; i < in.length; i++) s[i] = (char) in.ints[in.offset + i];
      String surf = new String(s);
      d.lookupWordIds(io.output.intValue(), ids);
      for (int k = 0; k < ids.length; k++) {
        int w = ids.ints[ids.offset + k];
        StringBuilder sb = new StringBuilder();
        sb.append(surf).append('\t').append(d.getLeftId(w)).append('\t').append(d.getRightId(w)).append('\t')
          .append(d.getWordCost(w)).append('\t').append(d.getPOSType(w)).append('\t').append(d.getLeftPOS(w))
          .append('\t').append(d.getRightPOS(w)).append('\t');
        Dictionary.Morpheme[] ms = d.getMorphemes(w, s, 0, s.length);
        if (ms != null) for (int j = 0; j < ms.length; j++) {
          if (j > 0) sb.append('+');
          sb.append(ms[j].surfaceForm).append('/').append(ms[j].posTag);
        }
        String r = d.getReading(w);
        sb.append('\t').append(r == null ? "" : r);
        out.println(sb);
        n++;
      }
    }
    out.close();
    System.err.println("entries " + n);
    ConnectionCosts cc = ConnectionCosts.getInstance();
    // find sizes by probing: ids are < 4000 in mecab-ko-dic
    int maxR = 0, maxL = 0;
    try (BufferedReader br = new BufferedReader(new InputStreamReader(new FileInputStream(a[0]), StandardCharsets.UTF_8))) {
      String l;
      while ((l = br.readLine()) != null) {
        String[] f = l.split("\t");
        maxL = Math.max(maxL, Integer.parseInt(f[1]));
        maxR = Math.max(maxR, Integer.parseInt(f[2]));
      }
    }
    UnknownDictionary ud = UnknownDictionary.getInstance();
    CharacterDefinition cd = CharacterDefinition.getInstance();
    PrintWriter uo = new PrintWriter(new OutputStreamWriter(new FileOutputStream(a[0] + ".unk"), StandardCharsets.UTF_8));
    for (int c = 0; c < CharacterDefinition.CLASS_COUNT; c++) {
      IntsRef u = new IntsRef();
      ud.lookupWordIds(c, u);
      for (int k = 0; k < u.length; k++) {
        int w = u.ints[u.offset + k];
        uo.println(c + "\t" + ud.getLeftId(w) + "\t" + ud.getRightId(w) + "\t" + ud.getWordCost(w) + "\t" + ud.getLeftPOS(w));
        maxL = Math.max(maxL, ud.getLeftId(w)); maxR = Math.max(maxR, ud.getRightId(w));
      }
    }
    uo.close();
    int R = maxR + 1, L = maxL + 1;
    DataOutputStream co = new DataOutputStream(new BufferedOutputStream(new FileOutputStream(a[0] + ".conn")));
    co.writeInt(R); co.writeInt(L);
    for (int r = 0; r < R; r++) for (int l = 0; l < L; l++) co.writeShort(cc.get(r, l));
    co.close();
    System.err.println("conn " + R + " x " + L);
  }
}
